"""Stand-in models for a server that must not call a real one (tests, demos, benchmarks).

``selfedit serve --stand-in SPEC`` makes every agent of the server use one model object,
whatever model name it was created with, and an offline embedding:

- ``echo``: the offline echo model of ``selfedit chat`` (it answers "You said: ...").
- ``instant``: calls ``send_message`` at once with a fixed text (benchmarks).
- ``module:attribute``: a ``Model``, or a function returning one, importable from
  ``module`` (a test's scripted story, a local model adapter).

This is a test and benchmark switch, never a production setting: the agents' own model
names are ignored while it is on.
"""

from __future__ import annotations

import importlib
import json

from agent._chat import _Offline
from agent._embedding import EmbeddingModel
from agent._errors import ConfigError
from agent._model import Model, ModelRequest, ModelResponse, ModelToolCall
from agent.testing import FakeEmbedding

__all__ = ["stand_in"]


class _Instant:
    """Answers every request at once by calling ``send_message``."""

    name = "stand-in/instant"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        arguments = json.dumps({"message": "ok"})
        return ModelResponse(None, [ModelToolCall("send_message", arguments, "call_instant")])


def stand_in(spec: str | None) -> tuple[Model | None, EmbeddingModel | None]:
    """The model and embedding ``spec`` names; ``(None, None)`` for no stand-in.

    Raises:
        ConfigError: ``spec`` names nothing importable, or not a model.
    """
    if not spec:
        return None, None
    if spec == "echo":
        return _Offline(), FakeEmbedding()
    if spec == "instant":
        return _Instant(), FakeEmbedding()
    module, _, attribute = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError("--stand-in", [f"{spec!r} cannot be imported: {e}"]) from e
    model = found if isinstance(found, Model) else found()
    if not isinstance(model, Model):
        raise ConfigError("--stand-in", [f"{spec!r} is not a Model (an object with complete)"])
    return model, FakeEmbedding()
