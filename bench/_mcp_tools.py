"""The tool bench/mcp_calls.py serves over MCP."""

from toolkit import tool


@tool
def lookup(key: str) -> str:
    """Look a fact up by its key.

    Args:
        key: The fact's key.
    """
    return {"capital": "Paris"}.get(key, "unknown")
