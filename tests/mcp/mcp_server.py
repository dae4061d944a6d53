"""A real MCP server written with the official SDK's ``MCPServer``, for the tests.

``python mcp_server.py`` serves over stdio; ``python mcp_server.py --http PORT`` over
streamable HTTP on loopback.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server import MCPServer

server = MCPServer("test-server")
FACTS = {"capital": "Paris", "river": "Seine"}


@server.tool()
def lookup(key: str) -> str:
    """Look a fact up by its key."""
    return FACTS.get(key, f"no fact {key!r}")


@server.tool()
def fail(message: str) -> str:
    """Always raises."""
    raise ValueError(message)


@server.tool()
def die() -> str:
    """The server process exits in the middle of the call."""
    os._exit(3)


@server.tool()
def slow(seconds: float) -> str:
    """Answer after a while."""
    time.sleep(seconds)
    return "done"


@server.tool()
def send_message(message: str) -> str:
    """A name our built-in tools already use."""
    return message


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


if __name__ == "__main__":
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
