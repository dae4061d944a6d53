"""``OpenAIModel``: the official ``openai`` client, for OpenAI or any compatible server."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import openai

from agent._errors import ModelError
from agent._model import ModelRequest, ModelResponse
from agent._openai_reply import read_completion, stream_chunks
from agent._streaming import StreamEvent

__all__ = ["OpenAIModel", "connect", "resolve_model"]

_PREFIX = "openai/"
_PATH = "/chat/completions"
_OPTIONS: openai.RequestOptions = {"security": {"bearer_auth": True}}  # as create() sends it


class OpenAIModel:
    """Chat completions with tools, over ``openai.AsyncOpenAI``.

    ``base_url`` and ``api_key`` come from the arguments or ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``, read when the first request is made (never at import), so any
    OpenAI-compatible server works (vLLM, Ollama, llama.cpp). Transient failures are retried by
    the openai client's own policy (``max_retries``); anything else ends the turn. With
    ``stream=True`` the reply is streamed (server-sent events) and assembled before it is
    returned, for servers or proxies that cut long silent requests. ``stream(request)`` always
    streams, yielding the reply's pieces as they arrive (token streaming).
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
        stream: bool = False,
    ) -> None:
        self.model = model.removeprefix(_PREFIX)
        """The model's name on the server."""
        self.name = f"{_PREFIX}{self.model}"
        self._base_url, self._api_key, self._max_retries = base_url, api_key, max_retries
        self._timeout = timeout
        self._http_client = http_client
        self._parallel = parallel_tool_calls
        self._stream = stream
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
        """The JSON body posted to the server's ``/chat/completions``, exactly as sent.

        Keys come in the order ``chat.completions.create`` would send them, so the bytes on the
        wire are the same as through it.
        """
        return self._body(request, self._stream)

    def _body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model}
        if stream:
            body["stream"] = True
        body["messages"] = request.messages
        if request.tools and self._parallel is not None:
            body["parallel_tool_calls"] = self._parallel
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tool_choice"] = _tool_choice(request.tool_choice)
            body["tools"] = request.tools
        return body

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request``; an API failure becomes a ``ModelError`` saying what failed.

        The body goes as built, through the client's low-level ``post``: the same retries,
        timeouts, headers, errors and ``base_url`` as ``chat.completions.create``, without its
        walk of every message through the SDK's type-driven ``transform`` (which costs about
        0.2 ms per message and leaves a body of plain JSON as it was). The reply is read once.
        """
        if self._stream:
            reply = ModelResponse()
            async for event in self.stream(request):
                if isinstance(event, ModelResponse):
                    reply = event  # the last event
            return reply
        with self._errors():
            body = self.body(request)
            raw = await self.client.post(_PATH, body=body, cast_to=bytes, options=_OPTIONS)
        return read_completion(self.name, raw)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        """Send ``request`` streamed; yield text and tool-call argument pieces as they arrive.

        The last event is the assembled ``ModelResponse`` (usage included: the request asks
        for it with ``stream_options``). Leaving early closes the HTTP stream.

        Raises:
            ModelError: the API failed, before or during the stream.
        """
        with self._errors():
            chunks = await self.client.post(
                _PATH,
                body=self._body(request, stream=True),
                cast_to=object,
                options=_OPTIONS,
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
            async with chunks:
                async for event in stream_chunks(self.name, chunks):
                    yield event

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """An API failure becomes a ``ModelError`` saying what failed."""
        try:
            yield
        except openai.APIStatusError as e:
            raise ModelError(f"{self.name}: HTTP {e.status_code}: {_detail(e)}") from e
        except openai.APIError as e:
            raise ModelError(f"{self.name}: {type(e).__name__}: {e.message}") from e


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
    if not model.startswith(_PREFIX) or not model.removeprefix(_PREFIX).strip():
        raise ModelError(
            f"unknown model {model!r}: use 'openai/<name>' (e.g. 'openai/gpt-4o-mini') "
            "or pass a Model object"
        )
    return OpenAIModel(model)
