"""agent.server: Letta's REST API over selfedit (``selfedit serve``).

```python
import uvicorn
from agent.server import create_app

uvicorn.run(create_app("agents.db"), port=8283)
```

Needs the ``server`` extra (FastAPI and uvicorn); ``import agent`` never imports it.
"""

from agent.server._app import create_app

__all__ = ["create_app"]
