"""Helpers for the server tests: free ports, and waiting for a server process to listen."""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from letta_client import Letta

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "examples"


Serve = Callable[..., str]
"""``serve(*args, port=None, stand_in=...)`` -> the base URL."""


@contextlib.contextmanager
def letta(base_url: str, token: str | None = None) -> Iterator[Letta]:
    """A ``letta_client.Letta`` whose connections are closed afterwards."""
    with httpx.Client(timeout=60) as http:
        yield Letta(base_url=base_url, token=token, httpx_client=http)
