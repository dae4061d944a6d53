"""The history check before every request, and the repair of a broken history."""

from hypothesis import given, settings
from hypothesis import strategies as st

from agent import ToolCall
from agent._history import Record, is_well_formed, well_formed

ids = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def records(draw: st.DrawFn) -> Record:
    kind = draw(st.sampled_from(["user", "assistant", "tool", "system"]))
    if kind == "assistant":
        calls = draw(st.lists(ids, max_size=3, unique=True))
        return Record(
            "assistant", "", [ToolCall(name="t", arguments="{}", tool_call_id=i) for i in calls]
        )
    if kind == "tool":
        return Record("tool", "result", [], draw(ids), "success", name="t")
    return Record(kind, "text")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(records(), max_size=12))
def test_the_check_agrees_with_the_repair(history: list[Record]) -> None:
    repaired = well_formed(history)
    assert is_well_formed(repaired)
    assert is_well_formed(history) == ([r.id for r in repaired] == [r.id for r in history])


def test_a_result_without_its_call_and_a_call_without_its_result_are_caught() -> None:
    call = Record("assistant", "", [ToolCall(name="t", arguments="{}", tool_call_id="x")])
    result = Record("tool", "ok", [], "x", "success")
    assert is_well_formed([Record("user", "hi"), call, result])
    assert not is_well_formed([result])
    assert not is_well_formed([call, Record("user", "hi")])
    assert not is_well_formed([call])
