"""The server's gate: a bearer token on every request, and a limit on request bodies.

Pure ASGI, in front of everything else, so a refused request never reaches a route: no token
or a wrong one is a 401, a body over the limit a 413 (told by ``Content-Length`` at once, or
counted while it streams in).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["Guard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _TooLarge(Exception):
    """The body grew past the limit while it was read."""


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Checks the token and the body size before the app sees a request.

    Args:
        app: the application behind the gate.
        token: the bearer token every request must carry (``None``: no check).
        max_body: the largest request body, in bytes.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.token is not None and not self._authorized(headers.get(b"authorization")):
            challenge = [(b"www-authenticate", b"Bearer")]
            await _answer(send, 401, "missing or wrong bearer token (Authorization)", challenge)
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, self._too_large(), [])
            return
        try:
            await self.app(scope, self._counting(receive), send)
        except _TooLarge:
            await _answer(send, 413, self._too_large(), [])

    def _authorized(self, header: bytes | None) -> bool:
        scheme, _, given = (header or b"").decode("latin-1").partition(" ")
        expected = self.token or ""
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)

    def _too_large(self) -> str:
        return f"request body too large: the limit is {self.max_body} bytes"

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        return counted
