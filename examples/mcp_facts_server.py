"""A small MCP server written with the official SDK (used by docs/mcp.md)."""

from mcp.server import MCPServer

server = MCPServer("facts")


@server.tool()
def lookup(key: str) -> str:
    """Look a fact up by its key."""
    return {"capital": "Paris", "river": "Seine"}.get(key, f"no fact {key!r}")


if __name__ == "__main__":
    server.run()
