"""A ``selfedit serve`` worker tunes its own garbage collector; an embedded app does not.

Each case runs in a new process: the collector's settings belong to the whole process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.server._app import GC_YOUNG

PROBE = """
import gc, json
from agent.server import create_app
from agent.server._app import app_from_env
before = gc.get_threshold()[0]
create_app(":memory:")
embedded = gc.get_threshold()[0], gc.get_freeze_count()
app_from_env()
print(json.dumps([before, *embedded, gc.get_threshold()[0], gc.get_freeze_count()]))
"""


def _probe(tmp_path: Path, gc_setting: str | None) -> list[int]:
    env = {"SELFEDIT_SERVER_DB": str(tmp_path / "gc.db"), "PATH": "/usr/bin:/bin"}
    if gc_setting is not None:
        env["SELFEDIT_SERVER_GC"] = gc_setting
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: list[int] = json.loads(done.stdout.splitlines()[-1])
    return found


@pytest.mark.parametrize("setting", [None, "tuned"])
def test_a_serve_worker_freezes_what_startup_built_and_collects_young_objects_less_often(
    tmp_path: Path, setting: str | None
) -> None:
    before, embedded_threshold, embedded_frozen, threshold, frozen = _probe(tmp_path, setting)
    assert (embedded_threshold, embedded_frozen) == (before, 0)  # create_app alone: untouched
    assert threshold == GC_YOUNG != before
    assert frozen > 10_000  # modules, schemas and the app: out of the collector's way


def test_selfedit_server_gc_default_keeps_pythons_settings(tmp_path: Path) -> None:
    before, _, _, threshold, frozen = _probe(tmp_path, "default")
    assert (threshold, frozen) == (before, 0)
