"""Messages as text for people, the way the seed notebook's ``print_message`` shows them."""

from __future__ import annotations

from agent._messages import (
    AssistantMessage,
    Message,
    ReasoningMessage,
    StopReason,
    SystemMessage,
    ToolCallMessage,
    ToolReturnMessage,
    UsageStatistics,
    UserMessage,
)

__all__ = ["RULE", "format_message"]

RULE = "-" * 53


def format_message(message: Message) -> str:
    """One message as the seed notebook prints it."""
    if isinstance(message, ReasoningMessage):
        return f"🧠 Reasoning: {message.reasoning}"
    if isinstance(message, AssistantMessage):
        return f"🤖 Agent: {message.content}"
    if isinstance(message, ToolCallMessage):
        return f"🔧 Tool Call: {message.tool_call.name}\n{message.tool_call.arguments}"
    if isinstance(message, ToolReturnMessage):
        return f"🔧 Tool Return: {message.tool_return}"
    if isinstance(message, UserMessage):
        return f"👤 User Message: {message.content}"
    if isinstance(message, SystemMessage):
        return f"⚙️ System: {message.content}"
    if isinstance(message, UsageStatistics):
        usage = message.model_dump(exclude={"id", "date", "message_type"})
        return "Usage: [" + " ".join(f"{k}={v}" for k, v in usage.items()) + "]"
    if isinstance(message, StopReason):
        return f"Stop reason: {message.stop_reason}"
    return str(message)
