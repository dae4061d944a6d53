"""Human approval: a call that waits, in the stored history, for a person to answer it.

A call to a tool that requires approval is stored as the model made it, with no result, and
the turn stops (``stop_reason="requires_approval"``). Nothing else may enter the history until
an ``ApprovalCreate`` answers it: approved, the tool runs and the turn goes on; denied, the
model reads the denial as the call's error result and the turn goes on. Because the waiting
call is in the database, it survives a restart and any client may answer it.
"""

from __future__ import annotations

from agent._errors import ConfigError
from agent._history import Record, pending
from agent._messages import ApprovalCreate, ToolCall
from agent._rules import Progress, Rules
from agent.store import Store

__all__ = ["answered", "denial", "refuse_pending", "replay", "waiting"]

Waiting = tuple[Record, ToolCall]


def waiting(store: Store, agent_id: str) -> Waiting | None:
    """The agent's call awaiting approval, if any.

    It can only be in the last reply: nothing but the results of that reply's other calls may
    enter the history after a waiting call.
    """
    return pending(store.last_reply(agent_id))


def refuse_pending(store: Store, agent_id: str) -> None:
    """A user message may not start a turn while a call awaits approval.

    Raises:
        ConfigError: a call awaits approval (the message says how to answer it).
    """
    found = waiting(store, agent_id)
    if found is None:
        return
    call = found[1]
    raise ConfigError(
        "messages.create",
        [
            f"agent {agent_id!r} is waiting for approval of a call to {call.name!r} "
            f"(tool_call_id {call.tool_call_id!r}); answer it first: messages=[{{'type': "
            "'approval', 'approve': True}] (or 'approve': False with a 'reason')"
        ],
    )


def answered(store: Store, agent_id: str, approval: ApprovalCreate) -> Waiting:
    """The waiting call ``approval`` answers.

    Raises:
        ConfigError: no call awaits approval, or ``approval_request_id`` names another.
    """
    found = waiting(store, agent_id)
    if found is None:
        raise ConfigError(
            "messages.create", [f"agent {agent_id!r} has no call waiting for approval"]
        )
    record, call = found
    index = next(i for i, c in enumerate(record.tool_calls) if c is call)
    asked = approval.approval_request_id
    if asked not in (None, call.tool_call_id, f"{record.id}-{index}"):
        raise ConfigError(
            "messages.create",
            [
                f"approval_request_id {asked!r} does not name the call waiting for approval: "
                f"{record.id}-{index} (tool_call_id {call.tool_call_id!r}, tool {call.name!r})"
            ],
        )
    return found


def denial(reason: str | None) -> str:
    """The error result a denied call gives the model."""
    why = f": {reason}" if reason else ""
    return (
        f"Error: the user denied this call; it was not run{why}. Do not call it again unless "
        "the user asks; tell the user, or do something else."
    )


def replay(context: list[Record], rules: Rules) -> Progress:
    """The rules' progress of the turn that ``context`` ends with (since its user message)."""
    start = max((i + 1 for i, r in enumerate(context) if r.role == "user"), default=0)
    turn = context[start:]
    results = {r.tool_call_id: r for r in turn if r.role == "tool"}
    progress = Progress()
    for record in turn:
        for call in record.tool_calls if record.role == "assistant" else []:
            result = results.get(call.tool_call_id)
            if result is not None:
                rules.ran(progress, call.name, result.status != "error", result.content)
    return progress
