"""stdlib_tools: the standard memory tools, written as ordinary ``@tool`` functions."""

__all__: list[str] = []
