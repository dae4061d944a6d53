"""``OpenAIModel``: the official ``openai`` client, for OpenAI or any compatible server."""

from __future__ import annotations

import os
from typing import Any

import openai

from agent._errors import ModelError
from agent._model import ModelRequest, ModelResponse, ModelToolCall, ModelUsage

__all__ = ["OpenAIModel", "connect", "resolve_model"]

_PREFIX = "openai/"


class OpenAIModel:
    """Chat completions with tools, over ``openai.AsyncOpenAI``.

    ``base_url`` and ``api_key`` come from the arguments or ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``, read when the first request is made (never at import), so any
    OpenAI-compatible server works (vLLM, Ollama, llama.cpp). Transient failures are retried by
    the openai client's own policy (``max_retries``); anything else ends the turn.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 2,
        timeout: float = 120.0,
        http_client: Any = None,  # an httpx(2) AsyncClient, as the openai client takes
        parallel_tool_calls: bool | None = None,
    ) -> None:
        self.model = model.removeprefix(_PREFIX)
        """The model's name on the server."""
        self.name = f"{_PREFIX}{self.model}"
        self._base_url, self._api_key, self._max_retries = base_url, api_key, max_retries
        self._timeout = timeout
        self._http_client = http_client
        self._parallel = parallel_tool_calls
        self._client: openai.AsyncOpenAI | None = None

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The ``openai`` client, made on first use."""
        if self._client is None:
            self._client = connect(
                self.name,
                self._base_url,
                self._api_key,
                self._http_client,
                max_retries=self._max_retries,
                timeout=self._timeout,
            )
        return self._client

    def body(self, request: ModelRequest) -> dict[str, Any]:
        """The request body sent to ``chat.completions.create``."""
        body: dict[str, Any] = {"model": self.model, "messages": request.messages}
        if request.tools:
            body["tools"] = request.tools
            body["tool_choice"] = _tool_choice(request.tool_choice)
            if self._parallel is not None:
                body["parallel_tool_calls"] = self._parallel
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request``; an API failure becomes a ``ModelError`` saying what failed."""
        try:
            reply = await self.client.chat.completions.create(**self.body(request))
        except openai.APIStatusError as e:
            raise ModelError(f"{self.name}: HTTP {e.status_code}: {_detail(e)}") from e
        except openai.APIError as e:
            raise ModelError(f"{self.name}: {type(e).__name__}: {e.message}") from e
        if not reply.choices:
            raise ModelError(f"{self.name}: the reply had no choices")
        choice = reply.choices[0]
        calls = [
            ModelToolCall(c.function.name, c.function.arguments or "", c.id)
            for c in choice.message.tool_calls or ()
            if c.type == "function"
        ]
        usage = ModelUsage(
            reply.usage.prompt_tokens if reply.usage else 0,
            reply.usage.completion_tokens if reply.usage else 0,
        )
        return ModelResponse(choice.message.content, calls, usage, choice.finish_reason)


def connect(
    name: str,
    base_url: str | None,
    api_key: str | None,
    http_client: Any,
    **options: Any,
) -> openai.AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` for ``name``, with ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``.

    Raises:
        ModelError: there is neither an API key nor a server address.
    """
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key and not base_url:
        raise ModelError(f"{name!r}: no API key; set OPENAI_API_KEY or pass api_key=...")
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",  # local servers often need none
        http_client=http_client,
        **options,
    )


def _tool_choice(choice: str) -> Any:
    if choice in ("auto", "required", "none"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _detail(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return error.message


def resolve_model(model: str) -> OpenAIModel:
    """A model from its string, ``"openai/<name>"``.

    Raises:
        ModelError: the provider is not one selfedit knows.
    """
    if not model.startswith(_PREFIX):
        raise ModelError(f"unknown model {model!r}: use 'openai/<name>' or pass a Model object")
    return OpenAIModel(model)
