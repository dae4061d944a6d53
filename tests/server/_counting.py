"""A stand-in model for the two-worker test: each turn appends its text to the ``log`` block.

The model calls ``core_memory_append`` with the user's text, then ``send_message``; if two
turns of one agent interleaved, a turn would see another's half-finished step.
"""

from agent import ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send


def _reply(request: ModelRequest) -> ModelResponse:
    said = request.last_user_message or ""
    newest = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    if any(m["role"] == "assistant" for m in request.messages[newest:]):
        return send(f"logged {said}")
    return call("core_memory_append", label="log", content=said)


def model() -> FunctionModel:
    """The stand-in (``--stand-in _counting:model``)."""
    return FunctionModel(_reply, name="stand-in/counting")
