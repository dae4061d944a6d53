"""The ``selfedit`` command line: ``schema``, ``chat``, ``agents``, ``serve``, ``mcp``, ``db``.

``selfedit schema FILE_OR_MODULE [--name NAME ...] [--strict | --loose]`` prints the OpenAI
schema of every ``@tool`` in a file or module (or of plain documented functions named with
``--name``). Any ``SchemaError`` is printed with every problem, and the exit status is 2.

``selfedit mcp serve FILE_OR_MODULE [--http [--port PORT]]`` offers the same tools to MCP hosts
(over stdio, or streamable HTTP on loopback; see docs/mcp.md).

``selfedit db copy SRC DST`` copies a database (a SQLite file into PostgreSQL, say) into an
empty one and compares every table's row count (see docs/deploy.md).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import sqlite3
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from agent._chat import DB_HELP, add_commands
from agent.store import copy_store, open_store
from toolkit import SchemaError, SelfeditError, Tool

__all__ = ["main"]


def _load(target: str) -> ModuleType:
    """A file (its directory importable, as ``python FILE`` does) or a module (``python -m``)."""
    path = Path(target)
    if path.suffix == ".py" or path.is_file():
        if not path.is_file():
            raise _Refused(f"no such file: {target}")
        sys.path.insert(0, str(path.resolve().parent))  # its sibling modules import
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise _Refused(f"cannot load {target!r} as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, str(Path.cwd()))  # modules of the current directory, as python -m
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        raise _Refused(f"no file or module named {target!r} ({e})") from None


class _Refused(Exception):
    """A user error of the command line: its message is printed, without a traceback."""


def _tools(module: ModuleType, names: Sequence[str]) -> list[Tool[..., Any]]:
    if names:
        missing = [n for n in names if not hasattr(module, n)]
        if missing:
            raise SchemaError(
                f"module {module.__name__!r}", [f"no function {n!r}" for n in missing]
            )
        found = [getattr(module, n) for n in names]
        return [f if isinstance(f, Tool) else Tool.from_function(f) for f in found]
    return [v for v in vars(module).values() if isinstance(v, Tool)]


def _schema(args: argparse.Namespace) -> int:
    try:
        tools = _tools(_load(args.target), args.name)
        schemas = [t.openai_schema(args.strict) for t in tools]
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not schemas:
        print(
            f"error: no @tool found in {args.target!r} (use --name for plain functions)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(schemas, indent=2, ensure_ascii=False))
    return 0


def _version() -> str:
    try:
        return metadata.version("selfedit")
    except metadata.PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfedit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"selfedit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="print the OpenAI schema of tools")
    schema.add_argument("target", metavar="FILE_OR_MODULE")
    schema.add_argument("--name", action="append", default=[], help="a plain function to include")
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--strict", dest="strict", action="store_const", const=True, default=None)
    mode.add_argument("--loose", dest="strict", action="store_const", const=False)
    schema.set_defaults(run=_schema)
    add_commands(commands)
    _add_serve(commands)
    _add_mcp(commands)
    _add_db(commands)
    return parser


def _add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``selfedit db copy``."""
    db = commands.add_parser("db", help="copy a database")
    verbs = db.add_subparsers(dest="verb", required=True)
    copy = verbs.add_parser("copy", help="copy every agent, message, passage and tool")
    copy.add_argument("source", metavar="SRC", help="a SQLite file or a postgresql:// URL")
    copy.add_argument("target", metavar="DST", help="an empty database: a file or a URL")
    copy.set_defaults(run=_db_copy)


def _db_copy(args: argparse.Namespace) -> int:
    if args.source != ":memory:" and "://" not in args.source and not Path(args.source).is_file():
        raise _Refused(f"no database file {args.source!r}")
    source = open_store(args.source)
    try:
        target = open_store(args.target)
        try:
            report = copy_store(source, target)
        finally:
            target.close()
    finally:
        source.close()
    print(f"copied {source.path} -> {target.path}")
    for line in report.lines():
        print(f"  {line}")
    if not report.ok:
        print("error: the row counts differ (see MISMATCH above)", file=sys.stderr)
        return 1
    return 0


def _add_mcp(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``selfedit mcp serve``; the MCP SDK is imported only when it runs."""
    mcp = commands.add_parser("mcp", help="Model Context Protocol (needs selfedit[mcp])")
    verbs = mcp.add_subparsers(dest="verb", required=True)
    serve = verbs.add_parser("serve", help="offer every @tool of a file or module over MCP")
    serve.add_argument("target", metavar="FILE_OR_MODULE")
    serve.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="address for --http (loopback)")
    serve.add_argument("--port", type=int, default=8000, help="port for --http (default 8000)")
    serve.set_defaults(run=_mcp_serve)


def _optional(module: str, extra: str, command: str) -> ModuleType | None:
    """A module that needs an optional extra, imported only when its command runs."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        print(f"error: {command} needs: pip install 'selfedit[{extra}]' ({e})", file=sys.stderr)
        return None


def _mcp_serve(args: argparse.Namespace) -> int:
    bridge = _optional("agent._mcp_serve", "mcp", "selfedit mcp")
    if bridge is None:
        return 2
    try:
        found = [v for v in vars(_load(args.target)).values() if isinstance(v, Tool)]
    except SchemaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tools, skipped = bridge.servable(list({id(t): t for t in found}.values()))
    for tool in skipped:
        print(f"note: {tool.name!r} is not served: it needs {tool.injected!r}", file=sys.stderr)
    if not tools:
        print(f"error: no @tool to serve in {args.target!r}", file=sys.stderr)
        return 2
    if args.http:
        bridge.run_http(tools, host=args.host, port=args.port)
    else:
        bridge.run_stdio(tools)
    return 0


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``selfedit serve``; the server itself (FastAPI, uvicorn) is imported only when it runs."""
    serve = commands.add_parser("serve", help="serve Letta's REST API (needs selfedit[server])")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=8283)
    serve.add_argument("--db", default=None, help=DB_HELP)
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument(
        "--token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' ($SELFEDIT_SERVER_TOKEN)",
    )
    serve.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback address without a token"
    )
    serve.add_argument("--max-body", type=int, default=None, help="bytes per request (4 MiB)")
    serve.add_argument(
        "--stand-in",
        default=None,
        metavar="SPEC",
        help="for tests and benchmarks only: every agent uses this model instead of its own "
        "('echo', 'instant', or module:attribute); $SELFEDIT_SERVER_STAND_IN",
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    server = _optional("agent.server._serve", "server", "selfedit serve")
    if server is None:
        return 2
    status: int = server.serve(args)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Whatever a user can cause (a missing or broken file, a bad or foreign database, a
    read-only home, an unreachable server, Ctrl-C) is one line on stderr, never a traceback.
    """
    args = _parser().parse_args(argv)
    # the one line the user needs is printed; library warnings with tracebacks are not
    quiet = logging.getLogger("selfedit")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except SyntaxError as e:
        print(f"error: {e.filename}, line {e.lineno}: {e.msg}", file=sys.stderr)
        return 2
    except (_Refused, SelfeditError, OSError, ImportError, sqlite3.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        quiet.setLevel(level)  # main() may run inside a program (or a test) that logs
    return status


if __name__ == "__main__":
    raise SystemExit(main())
