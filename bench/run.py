"""Run every benchmark and print the tables: ``make bench`` (or ``python bench/run.py``).

Numbers are medians of several batches of many calls, in one process; nothing here asserts a
time. Peers that are not installed print "not installed" instead of a number.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from importlib import metadata

import archival
import context
import engine
import invoke
import openai_path
import schema

try:
    import postgres
except ImportError:  # the postgres extra (psycopg) is not installed
    postgres = None  # type: ignore[assignment]

PACKAGES = ["selfedit", "pydantic", "pydantic-core", "openai-agents", "pydantic-ai-slim"]
PACKAGES += ["langchain-core", "openai", "httpx2"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """Python, platform, CPUs, date and the versions of everything measured."""
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return "\n".join(
        [
            f"date:     {now}",
            f"python:   {sys.version.split()[0]} ({platform.python_implementation()})",
            f"machine:  {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs",
            f"packages: {versions}",
        ]
    )


def main() -> None:
    """Print the machine, then each benchmark's table as soon as it is done."""
    start = time.perf_counter()
    print(machine(), end="\n\n", flush=True)
    print(invoke.run(), end="\n\n", flush=True)
    print(schema.run(), end="\n\n", flush=True)
    engine.main()
    openai_path.main()
    context.main()
    archival.main()
    if postgres is None:
        print("\n## PostgreSQL vs SQLite: not run (the postgres extra is not installed)")
    else:
        postgres.main()
    print(f"total {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
