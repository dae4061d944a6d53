"""The instant stand-in model ``bench/server.py`` serves with (``--stand-in _server_model:model``).

A user message ``three-step`` is answered with two ``core_memory_append`` calls, one per step,
then ``send_message``; anything else with ``send_message`` at once. No waiting anywhere.
"""

from agent import ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send


def _reply(request: ModelRequest) -> ModelResponse:
    newest = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    steps = sum(1 for m in request.messages[newest:] if m["role"] == "assistant")
    if request.last_user_message == "three-step" and steps < 2:
        return call("core_memory_append", label="human", content=f"fact {steps}")
    return send("ok")


def model() -> FunctionModel:
    """The stand-in."""
    return FunctionModel(_reply, name="stand-in/instant")
