"""Fixtures for the MCP tests: real MCP peers as subprocesses, stdio or HTTP on loopback.

The suite blocks every real network call; here, calls to loopback stay allowed, because the
MCP SDK's HTTP client (httpx2) talks to servers these tests start on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from _mcp_paths import ROOT, Start
from _net import free_port, stop, wait_until_up

from agent.testing import RealModelCallBlocked, block_real_models

_SEND = httpx2.AsyncHTTPTransport.handle_async_request
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


async def _loopback_only(self: Any, request: Any) -> Any:
    if request.url.host not in _LOOPBACK:
        raise RealModelCallBlocked(f"a real network call to {request.url.host} in a test")
    return await _SEND(self, request)


@pytest.fixture(autouse=True)
def _no_real_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with block_real_models():
        monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", _loopback_only)
        yield


@pytest.fixture
def http_server() -> Iterator[Start]:
    """``http_server(*command)``: run ``command`` (given ``PORT`` in it) on a free port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*command: str) -> str:
        port = free_port()
        args = [a.replace("PORT", str(port)) for a in command]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        started.append(process)
        wait_until_up(port, process)
        return f"http://127.0.0.1:{port}/mcp"

    yield start
    stop(started)
