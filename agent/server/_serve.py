"""``selfedit serve``: run the REST server with uvicorn.

Every worker builds its app from the environment (``app_from_env``), so ``--workers N``
starts N processes on one database; the database's turn leases keep their turns of one agent
in order.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

import uvicorn

from agent.server._app import DEFAULT_MAX_BODY

__all__ = ["problems", "serve"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problems(args: argparse.Namespace, token: str | None) -> list[str]:
    """What is wrong with the options, each with the fix."""
    found = []
    if not _loopback(args.host) and not token and not args.insecure:
        found.append(
            f"refusing to serve on {args.host!r} without a token: anyone who can reach it could "
            "run your agents and their tools; pass --token (or set SELFEDIT_SERVER_TOKEN), or "
            "--insecure if the network is yours alone"
        )
    if args.workers < 1:
        found.append(f"--workers must be at least 1, got {args.workers}")
    if args.workers > 1 and args.db == ":memory:":
        found.append("--workers > 1 needs a database file: each worker would get its own memory")
    if args.max_body is not None and args.max_body < 1:
        found.append(f"--max-body must be at least 1 byte, got {args.max_body}")
    return found


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted; 2 for options it refuses."""
    token = args.token or os.environ.get("SELFEDIT_SERVER_TOKEN") or None
    found = problems(args, token)
    if found:
        for problem in found:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    config = {
        "SELFEDIT_SERVER_DB": args.db or "",
        "SELFEDIT_SERVER_TOKEN": token or "",
        "SELFEDIT_SERVER_MAX_BODY": str(args.max_body or DEFAULT_MAX_BODY),
        "SELFEDIT_SERVER_STAND_IN": args.stand_in or os.environ.get("SELFEDIT_SERVER_STAND_IN", ""),
    }
    os.environ.update(config)  # the workers (and this process) read their settings from here
    print(f"selfedit serving Letta's REST API on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(
        "agent.server._app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0
