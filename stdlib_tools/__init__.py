"""stdlib_tools: the standard memory tools, written as ordinary ``@tool`` functions."""

from stdlib_tools._core import core_memory_append, core_memory_replace, send_message

__all__ = ["BASE_TOOLS", "core_memory_append", "core_memory_replace", "send_message"]

BASE_TOOLS = (send_message, core_memory_append, core_memory_replace)
"""The tools an agent gets with ``include_base_tools=True``, in order."""
