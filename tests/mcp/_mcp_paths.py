"""Paths and types the MCP tests share (a module of its own: ``conftest`` is not importable
by name when several test folders have one)."""

from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SERVER = HERE / "mcp_server.py"
"""A real MCP server written with the SDK's ``MCPServer`` (stdio, or ``--http PORT``)."""

Start = Callable[..., str]
"""``http_server(*command)``: run ``command`` (given ``PORT`` in it) on a free port."""
