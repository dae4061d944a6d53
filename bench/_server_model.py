"""The stand-in models ``bench/server.py`` serves with (``--stand-in _server_model:...``).

``model``: no waiting anywhere. A user message ``three-step`` is answered with two
``core_memory_append`` calls, one per step, then ``send_message``; anything else with
``send_message`` at once.

``paced``: every reply takes 20 ms (a fast real model); each turn is five steps, four
``core_memory_append`` calls to the ``notes`` block, then ``send_message``.
"""

import asyncio

from agent import ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send

LATENCY = 0.020
"""Seconds ``paced`` takes per reply."""
STEPS_PER_TURN = 5
"""Model replies in each of ``paced``'s turns."""


def _steps_so_far(request: ModelRequest) -> int:
    newest = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    return sum(1 for m in request.messages[newest:] if m["role"] == "assistant")


def _reply(request: ModelRequest) -> ModelResponse:
    steps = _steps_so_far(request)
    if request.last_user_message == "three-step" and steps < 2:
        return call("core_memory_append", label="human", content=f"fact {steps}")
    return send("ok")


def model() -> FunctionModel:
    """The instant stand-in."""
    return FunctionModel(_reply, name="stand-in/instant")


async def _paced_reply(request: ModelRequest) -> ModelResponse:
    await asyncio.sleep(LATENCY)
    steps = _steps_so_far(request)
    if steps < STEPS_PER_TURN - 1:
        return call("core_memory_append", label="notes", content=f"step {steps}")
    return send("done")


def paced() -> FunctionModel:
    """The 20 ms stand-in."""
    return FunctionModel(_paced_reply, name="stand-in/paced")
