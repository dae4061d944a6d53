"""Operations from many clients on one agent end as some serial order of them would.

Each client (its own ``Client`` on one database, in its own thread) runs a program of
operations in order: ``append`` (a turn whose model appends the user's text to the ``log``
block), ``modify`` (``blocks.modify`` sets the whole value, as an admin would) and ``passage``
(``passages.create``). The programs run at the same time. Whatever the interleaving, the end
state must be one that running the operations one at a time, each client's in program order,
could give. For the ``log`` block, that means:

- its first line is the value of the last modify in that order (or the initial "start"), and
  the other lines are the appends after it, in the order they ran, each once;
- so the modify it starts with is the last one its client ran; for every client, the appends
  after that point are a suffix of its appends (a later append of a client never lands while an
  earlier one is lost), with no modify of that client after them, in program order;
- and the turns ran one at a time: the history is whole turns, and the appends kept are the
  last turns of the history, in history order.

Passages are all there, each once. Threads in one process stand in for processes here (the
real processes are in ``test_many_clients.py``); interleavings are not reproducible, so
hypothesis neither shrinks nor replays them. Both backends: each example is a new agent in the
test's database (a SQLite file, or a PostgreSQL schema), so examples never see each other.
"""

from collections import Counter
from threading import Barrier, Thread

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agent import Client, ModelRequest, ModelResponse
from agent.testing import FunctionModel, ScriptedModel, call, send

Op = tuple[str, str]  # (kind, unique token)
KINDS = ["append", "modify", "passage"]
TURN = ["user_message", "tool_call_message", "tool_return_message", "assistant_message"]


def appender(request: ModelRequest) -> ModelResponse:
    if request.messages[-1]["role"] == "user":
        return call("core_memory_append", label="log", content=request.last_user_message)
    return send("ok")


def run(
    client: Client, agent_id: str, program: list[Op], barrier: Barrier, failed: list[BaseException]
) -> None:
    try:
        barrier.wait()
        for kind, token in program:
            apply(client, agent_id, kind, token)
    except BaseException as e:  # reported by the test's thread
        failed.append(e)


def apply(client: Client, agent_id: str, kind: str, token: str) -> None:
    if kind == "append":
        response = client.agents.messages.create(
            agent_id=agent_id, messages=[{"role": "user", "content": token}]
        )
        assert response.stop_reason == "end_turn", response
    elif kind == "modify":
        client.agents.blocks.modify(agent_id, block_label="log", value=token)
    else:
        client.agents.passages.create(agent_id=agent_id, text=token)


def check_serializable(programs: list[list[Op]], log: list[str], turns: list[str]) -> None:
    """Fail unless ``log`` (the block's lines) and ``turns`` (users in history order) fit."""
    head, tail = log[0], log[1:]
    modifies = {token for p in programs for kind, token in p if kind == "modify"}
    appends = [token for p in programs for kind, token in p if kind == "append"]
    assert Counter(turns) == Counter(appends), "every turn ran once"
    if modifies:
        assert head in modifies, f"the first line {head!r} is no modify's value"
    else:
        assert head == "start", f"the first line {head!r} is not the initial value"
    assert Counter(tail) == Counter(set(tail)) and set(tail) <= set(appends), tail
    assert tail == turns[len(turns) - len(tail) :], "the kept appends are the last turns"
    for program in programs:
        tokens = [token for _, token in program]
        # where this client's part after the head's modify starts in its program
        if head == "start":
            cut = 0
        elif head in tokens:
            cut = tokens.index(head) + 1
        else:
            kept = [i for i, token in enumerate(tokens) if token in tail]
            cut = kept[0] if kept else len(program)
        after = program[cut:]
        assert "modify" not in [kind for kind, _ in after], f"{head!r} is not the last modify"
        own_appends = [token for kind, token in after if kind == "append"]
        assert [t for t in tail if t in tokens] == own_appends, f"lost or reordered: {program}"


programs_strategy = st.lists(
    st.lists(st.sampled_from(KINDS), min_size=1, max_size=6), min_size=2, max_size=3
)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    # one database for every example is the point: each example makes an agent of its own
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kinds=programs_strategy)
def test_operations_from_many_clients_equal_some_serial_order(
    database: str, kinds: list[list[str]]
) -> None:
    programs = [[(k, f"{k}-{c}-{i}") for i, k in enumerate(p)] for c, p in enumerate(kinds)]
    with Client(database, model=ScriptedModel()) as setup:
        agent_id = setup.agents.create(
            memory_blocks=[{"label": "log", "value": "start", "limit": 100_000}]
        ).id
    clients = [Client(database, model=FunctionModel(appender)) for _ in programs]
    barrier, failed = Barrier(len(programs)), list[BaseException]()
    threads = [
        Thread(target=run, args=(client, agent_id, program, barrier, failed), daemon=True)
        for client, program in zip(clients, programs, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client never finished"
        if failed:
            raise failed[0]
    finally:
        for client in clients:
            client.close()
    with Client(database, model=ScriptedModel()) as fresh:
        log = fresh.agents.blocks.retrieve(agent_id, block_label="log").value.split("\n")
        history = fresh.agents.messages.list(agent_id=agent_id)
        passages = [p.text for p in fresh.agents.passages.list(agent_id=agent_id)]

    kinds_seen = [m.message_type for m in history]
    assert kinds_seen == TURN * (len(kinds_seen) // 4), "turns interleaved"
    turns = [m.content for m in history if m.message_type == "user_message"]
    check_serializable(programs, log, turns)
    wanted = [token for p in programs for kind, token in p if kind == "passage"]
    assert Counter(passages) == Counter(wanted)


def test_the_serial_check_rejects_what_no_serial_order_gives() -> None:
    one = [("append", "a1"), ("modify", "m1"), ("append", "a2")]
    two = [("append", "b1"), ("append", "b2")]
    check_serializable([one, two], ["m1", "b2", "a2"], ["a1", "b1", "b2", "a2"])
    check_serializable([one, two], ["m1", "a2"], ["a1", "b1", "b2", "a2"])
    rejected = [
        (["m1", "a2", "b2"], ["a1", "b1", "b2", "a2"]),  # block order differs from the turns
        (["m1", "b1", "a2"], ["a1", "b1", "b2", "a2"]),  # b2 lost while b1 kept
        (["m1", "b2"], ["a1", "b1", "a2", "b2"]),  # a2 came after m1 in its program: lost
        (["m1", "a1", "a2"], ["b1", "b2", "a1", "a2"]),  # a1 ran before m1: revived
        (["start", "a1", "b1", "b2", "a2"], ["a1", "b1", "b2", "a2"]),  # the modify reverted
        (["m1", "a2", "a2"], ["a1", "b1", "b2", "a2"]),  # an append applied twice
        (["m1", "b2", "a2"], ["a1", "b1", "b2"]),  # a turn missing from history
    ]
    for log, turns in rejected:
        try:
            check_serializable([one, two], log, turns)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {log} with turns {turns}")
    no_modify = [[("append", "a1")], [("append", "b1")]]
    check_serializable(no_modify, ["start", "b1", "a1"], ["b1", "a1"])
    for log, turns in [(["start", "b1"], ["a1", "b1"]), (["b1"], ["a1", "b1"])]:
        try:
            check_serializable(no_modify, log, turns)
        except AssertionError:
            continue
        raise AssertionError(f"accepted {log} with turns {turns}")
