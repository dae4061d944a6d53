"""The offline demo: what the model sees of the example tools, and what it gets back.

Runs ``selfedit schema`` on examples/tools.py, then calls the tools the way a model would,
with good and bad arguments, and prints each result exactly as the model would read it.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from tools import annotate, convert_temperature, roll_dice, schedule  # noqa: E402

from agent._cli import main as selfedit  # noqa: E402
from toolkit import ToolSet  # noqa: E402

CALLS = [
    ("roll_dice", '{"sides": 20, "times": 2}'),
    ("roll_dice", '{"sides": null, "times": null}'),
    ("roll_dice", '{"sides": "twenty"}'),
    ("roll_dice", '{"sides": 6, "times": 9}'),
    ("roll_dice", '{"sides": 6,'),
    ("convert_temperature", '{"value": 451, "to": "celsius"}'),
    ("convert_temperature", '{"value": 20, "to": "kelvin"}'),
    ("schedule", '{"tasks": [{"title": "file taxes", "due": "2026-04-15", "priority": 1}]}'),
    ("schedule", '{"tasks": "[{\\"title\\": \\"sent as a string\\"}]"}'),
    ("schedule", '{"tasks": [{"title": "x", "owner": "bob"}]}'),
    ("schedule", '{"tasks": []}'),
    ("annotate", '{"record": {"id": 7}, "note": "checked", "color": "red"}'),
    ("send_email", '{"to": "bob"}'),
]


def run() -> None:
    """Print the schemas, then each call and its result."""
    print("$ selfedit schema examples/tools.py\n")
    selfedit(["schema", str(HERE / "tools.py")])
    tools = ToolSet([roll_dice, convert_temperature, schedule, annotate])
    print("\nCalls as a model would make them, and the results it would read:\n")
    for name, arguments in CALLS:
        result = tools.invoke(name, arguments)
        print(f"{name}({arguments})\n  -> [{result.status}] {result.content}\n")


if __name__ == "__main__":
    run()
