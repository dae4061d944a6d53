"""The typed messages: each with its message_type, parsed by that discriminator."""

import pytest
from pydantic import TypeAdapter

from agent import (
    AssistantMessage,
    Message,
    ReasoningMessage,
    Response,
    StopReason,
    SystemMessage,
    ToolCall,
    ToolCallMessage,
    ToolReturnMessage,
    Usage,
    UsageStatistics,
    UserMessage,
)

EXAMPLES = [
    UserMessage(content="hi"),
    AssistantMessage(content="hello"),
    ReasoningMessage(reasoning="the user greets me"),
    ToolCallMessage(
        tool_call=ToolCall(name="send_message", arguments='{"message": "x"}', tool_call_id="c1")
    ),
    ToolReturnMessage(tool_return="ok", status="success", tool_call_id="c1"),
    SystemMessage(content="note"),
    UsageStatistics(prompt_tokens=1, completion_tokens=2, total_tokens=3, step_count=1),
    StopReason(stop_reason="end_turn"),
]


def test_message_types() -> None:
    assert [m.message_type for m in EXAMPLES] == [
        "user_message",
        "assistant_message",
        "reasoning_message",
        "tool_call_message",
        "tool_return_message",
        "system_message",
        "usage_statistics",
        "stop_reason",
    ]
    assert len({m.id for m in EXAMPLES}) == len(EXAMPLES)
    assert all(m.date.tzinfo is not None for m in EXAMPLES)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.message_type)
def test_messages_round_trip_through_json(message: Message) -> None:
    adapter: TypeAdapter[Message] = TypeAdapter(Message)
    again = adapter.validate_json(adapter.dump_json(message))
    assert type(again) is type(message)
    assert again == message


def test_tool_return_status_is_success_or_error() -> None:
    with pytest.raises(ValueError, match="status"):
        ToolReturnMessage(tool_return="x", status="maybe", tool_call_id="c1")  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", ["end_turn", "max_steps", "no_tool_call", "error"])
def test_stop_reasons(reason: str) -> None:
    assert StopReason(stop_reason=reason).stop_reason == reason  # type: ignore[arg-type]


def test_unknown_stop_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="stop_reason"):
        StopReason(stop_reason="tired")  # type: ignore[arg-type]


def test_response_parses_messages_by_type() -> None:
    response = Response.model_validate(
        {
            "messages": [
                {"message_type": "reasoning_message", "reasoning": "think"},
                {"message_type": "assistant_message", "content": "hi"},
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
            "stop_reason": "end_turn",
        }
    )
    assert [type(m) for m in response.messages] == [ReasoningMessage, AssistantMessage]
    assert response.usage == Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    assert response.usage.step_count == 0
