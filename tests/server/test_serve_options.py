"""``selfedit serve`` on a non-loopback address: refused without a token, unless told.

Nothing here listens on such an address: the refusal happens before any socket is opened,
and for the accepted cases uvicorn is replaced by a recorder (the check is all that is tested).
"""

import os
import subprocess
import sys
from typing import Any

import pytest
import uvicorn

from agent._cli import main

PUBLIC = ["serve", "--host", "0.0.0.0", "--port", "8283", "--db", ":memory:"]


def test_a_public_address_without_a_token_is_refused() -> None:
    env = {**os.environ, "SELFEDIT_SERVER_TOKEN": ""}
    done = subprocess.run(
        [sys.executable, "-m", "agent._cli", *PUBLIC],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "error: refusing to serve on '0.0.0.0' without a token" in done.stderr
    assert "--token" in done.stderr and "--insecure" in done.stderr


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``uvicorn.run`` was called with (it does not run); the settings env restored."""
    for name in ["TOKEN", "DB", "MAX_BODY", "STAND_IN"]:
        monkeypatch.setenv(f"SELFEDIT_SERVER_{name}", "")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


@pytest.mark.parametrize("extra", [["--insecure"], ["--token", "s3cret"]])
def test_insecure_or_a_token_gets_past_the_check(
    served: list[dict[str, Any]], extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*PUBLIC, *extra]) == 0
    assert served[0]["host"] == "0.0.0.0"
    assert "refusing" not in capsys.readouterr().err


def test_a_token_from_the_environment_counts(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELFEDIT_SERVER_TOKEN", "s3cret")
    assert main(PUBLIC) == 0 and served
    assert os.environ["SELFEDIT_SERVER_TOKEN"] == "s3cret"  # what each worker reads
