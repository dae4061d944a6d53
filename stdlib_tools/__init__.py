"""stdlib_tools: the standard memory tools, written as ordinary ``@tool`` functions."""

from stdlib_tools._core import core_memory_append, core_memory_replace, send_message
from stdlib_tools._search import (
    archival_memory_insert,
    archival_memory_search,
    conversation_search,
)
from stdlib_tools._task_queue import task_queue_pop, task_queue_push

__all__ = [
    "BASE_TOOLS",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
    "core_memory_append",
    "core_memory_replace",
    "send_message",
    "task_queue_pop",
    "task_queue_push",
]

BASE_TOOLS = (
    send_message,
    core_memory_append,
    core_memory_replace,
    archival_memory_insert,
    archival_memory_search,
    conversation_search,
)
"""The tools an agent gets with ``include_base_tools=True``, in order."""
