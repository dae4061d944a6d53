"""agent: memory blocks, agent state, messages, models, the step engine, storage and the client.

```python
from agent import Client

client = Client()
agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
response = client.agents.messages.create(
    agent_id=agent.id, messages=[{"role": "user", "content": "hi"}]
)
```

The message types (``UserMessage``, ``AssistantMessage``, ...) are exported here; test doubles
live in ``agent.testing``.
"""

from agent._client import AsyncClient
from agent._errors import AgentBusyError, BlockError, ConfigError, ModelError, NotFoundError
from agent._mcp_source import McpServer, McpTool
from agent._memory import Block, Memory
from agent._messages import (
    ApprovalCreate,
    ApprovalRequestMessage,
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
from agent._model import Model, ModelRequest, ModelResponse, ModelToolCall, ModelUsage
from agent._openai import OpenAIModel
from agent._registry import StoredTool
from agent._rules import (
    ChildToolRule,
    ConditionalToolRule,
    InitToolRule,
    MaxCountPerStepToolRule,
    RequiresApprovalToolRule,
    TerminalToolRule,
    ToolRule,
)
from agent._sandbox import Sandbox
from agent._state import AgentState
from agent._streaming import StreamEvent, StreamingModel, TextDelta, ToolCallDelta
from agent._sync import Client

__all__ = [
    "AgentBusyError",
    "AgentState",
    "ApprovalCreate",
    "ApprovalRequestMessage",
    "AssistantMessage",
    "AsyncClient",
    "Block",
    "BlockError",
    "ChildToolRule",
    "Client",
    "ConditionalToolRule",
    "ConfigError",
    "InitToolRule",
    "MaxCountPerStepToolRule",
    "McpServer",
    "McpTool",
    "Memory",
    "Message",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "ModelToolCall",
    "ModelUsage",
    "NotFoundError",
    "OpenAIModel",
    "ReasoningMessage",
    "RequiresApprovalToolRule",
    "Response",
    "Sandbox",
    "StopReason",
    "StoredTool",
    "StreamEvent",
    "StreamingModel",
    "SystemMessage",
    "TerminalToolRule",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallMessage",
    "ToolReturnMessage",
    "ToolRule",
    "Usage",
    "UsageStatistics",
    "UserMessage",
]
