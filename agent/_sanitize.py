"""A model's reply made safe to run and to store, whatever the model sent.

Text that cannot be stored is repaired (see ``agent._text``); tool-call ids that are missing or
repeat within the reply get fresh ones, so every call has exactly one result and the next
request is one the API accepts.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from agent._model import ModelResponse, ModelToolCall
from agent._text import might_need_repair, repair, repair_json

__all__ = ["sanitize"]


def _fresh_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def sanitize(reply: ModelResponse) -> tuple[ModelResponse, bool]:
    """The reply with repaired text and unique call ids, and whether any text was repaired."""
    ids = [c.id for c in reply.tool_calls]
    parts = [reply.text or "", *(c.name + c.arguments + c.id for c in reply.tool_calls)]
    if all(ids) and len(set(ids)) == len(ids) and not might_need_repair("".join(parts)):
        return reply, False  # the common case: one scan of the text, nothing to change
    text, repaired = repair(reply.text) if reply.text else (reply.text, False)
    calls: list[ModelToolCall] = []
    seen: set[str] = set()
    for call in reply.tool_calls:
        name, bad_name = repair(call.name)
        arguments, bad_arguments = repair_json(call.arguments)
        repaired = repaired or bad_name or bad_arguments
        call_id = repair(call.id)[0] if call.id else ""
        call_id = call_id if call_id and call_id not in seen else _fresh_id()
        seen.add(call_id)
        calls.append(ModelToolCall(name=name, arguments=arguments, id=call_id))
    if not repaired and all(a.id == b.id for a, b in zip(calls, reply.tool_calls, strict=True)):
        return reply, False
    return replace(reply, text=text, tool_calls=calls), repaired
