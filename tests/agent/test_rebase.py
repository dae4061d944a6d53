"""Re-applying a memory edit to a value written meanwhile: properties that hold for any text."""

from hypothesis import given
from hypothesis import strategies as st

from agent._live import merge
from agent._rebase import rebase

texts = st.text(alphabet="ab\n", max_size=12)
lines = st.text(alphabet="abcxyz ", min_size=1, max_size=6)


@given(texts, texts)
def test_with_no_change_elsewhere_the_edit_is_kept_as_is(base: str, mine: str) -> None:
    assert rebase(base, mine, base) == mine


@given(texts, texts)
def test_with_no_edit_the_fresh_value_is_kept_as_is(base: str, theirs: str) -> None:
    assert rebase(base, base, theirs) == theirs


@given(st.text(min_size=1), st.text(), st.text())
def test_an_append_always_applies_after_whatever_is_there_now(
    base: str, added: str, theirs: str
) -> None:
    mine = f"{base}\n{added}"
    if theirs not in (mine, base):
        assert rebase(base, mine, theirs) == f"{theirs}\n{added}"


@given(st.lists(lines, min_size=2, max_size=6, unique=True), st.data())
def test_a_changed_line_and_an_append_elsewhere_both_survive(
    old: list[str], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(old) - 1))
    new = data.draw(lines.filter(lambda x: x not in old))
    appended = data.draw(lines.filter(lambda x: x not in old and x != new))
    edited = [*old[:index], new, *old[index + 1 :]]
    base, mine, theirs = "\n".join(old), "\n".join(edited), "\n".join([*old, appended])
    assert rebase(base, mine, theirs) == "\n".join([*edited, appended])


def test_a_replaced_line_that_someone_else_changed_too_is_a_conflict() -> None:
    base = "Name: Bob\nlikes tea"
    assert rebase(base, "Name: Rob\nlikes tea", "Name: Robert\nlikes tea") is None


def test_a_merge_over_the_limit_or_into_a_block_made_read_only_is_a_conflict() -> None:
    known = {"label": "h", "value": "abc", "limit": 8, "description": None, "read_only": False}
    mine = {**known, "value": "abc\nde"}
    assert merge(known, mine, {**known, "value": "abc\nxyz"}) is None  # 10 > 8 characters
    assert merge(known, mine, {**known, "read_only": True}) is None
    assert merge(known, mine, {**known, "description": "new"}) == {
        **known,
        "value": "abc\nde",
        "description": "new",
    }
