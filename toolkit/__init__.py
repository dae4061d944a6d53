"""toolkit: a typed, documented Python function becomes a correct, safe OpenAI tool.

```python
from toolkit import tool

@tool
def roll_dice(sides: int = 6) -> int:
    \"\"\"Roll one die.

Args:
        sides: Number of faces.
    \"\"\"
```
"""

from toolkit._errors import InjectionError, SchemaError, SelfeditError, ToolError
from toolkit._injected import Injected
from toolkit._result import ToolResult
from toolkit._tool import Tool, tool
from toolkit._toolset import ToolSet

__all__ = [
    "Injected",
    "InjectionError",
    "SchemaError",
    "SelfeditError",
    "Tool",
    "ToolError",
    "ToolResult",
    "ToolSet",
    "tool",
]
