"""The ``selfedit`` command line: ``schema``, ``chat``, ``agents list`` and ``agents show``.

``selfedit schema FILE_OR_MODULE [--name NAME ...] [--strict | --loose]`` prints the OpenAI
schema of every ``@tool`` in a file or module (or of plain documented functions named with
``--name``). Any ``SchemaError`` is printed with every problem, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from agent._chat import add_commands
from toolkit import SchemaError, Tool

__all__ = ["main"]


def _load(target: str) -> ModuleType:
    path = Path(target)
    if path.suffix == ".py" or path.exists():
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise SystemExit(f"selfedit: cannot load {target!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfedit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    schema = commands.add_parser("schema", help="print the OpenAI schema of tools")
    schema.add_argument("target", metavar="FILE_OR_MODULE")
    schema.add_argument("--name", action="append", default=[], help="a plain function to include")
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--strict", dest="strict", action="store_const", const=True, default=None)
    mode.add_argument("--loose", dest="strict", action="store_const", const=False)
    schema.set_defaults(run=_schema)
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
