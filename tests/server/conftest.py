"""Fixtures for the server tests: a real ``selfedit serve`` process on a free port.

The suite blocks every real network call; here, calls to loopback stay allowed, because
``letta_client`` in the test (and the seed's tools inside the server) talk to a local server.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _net import free_port, stop, wait_until_up
from _serving import EXAMPLES, Serve

from agent.testing import RealModelCallBlocked, block_real_models

_SEND = httpx.HTTPTransport.handle_request
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "testserver"}


def _loopback_only(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    if request.url.host not in _LOOPBACK:
        raise RealModelCallBlocked(f"a real network call to {request.url.host} in a test")
    return _SEND(self, request)


@pytest.fixture(autouse=True)
def _no_real_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with block_real_models():
        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", _loopback_only)
        yield


STORY = "seed_notebook:scripted_model"
"""The stand-in model: the seed notebook's scripted story (examples/seed_notebook.py)."""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """``serve(*args, port=None, stand_in=..., path=())``: start ``selfedit serve``."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        *args: str,
        port: int | None = None,
        stand_in: str = "seed_notebook:scripted_model",  # the seed's scripted story
        path: tuple[str, ...] = (),
    ) -> str:
        port = port or free_port()
        found = [*path, str(EXAMPLES), os.environ.get("PYTHONPATH")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, found))}
        env["SELFEDIT_SERVER_TOKEN"] = ""
        command = [sys.executable, "-m", "agent._cli", "serve", "--port", str(port)]
        command += ["--db", str(tmp_path / f"server-{port}.db"), "--stand-in", stand_in, *args]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
        )
        started.append(process)
        wait_until_up(port, process)
        return f"http://127.0.0.1:{port}"

    yield start
    stop(started)
