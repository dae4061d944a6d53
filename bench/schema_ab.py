"""Two (or more) checkouts' toolkits side by side in one process, interleaved: a fair A/B.

On a noisy machine two separate runs cannot be compared; here every round measures each
checkout in turn (alternating the order), so they share the same noise.

    git worktree add /tmp/base b6caa26
    python bench/schema_ab.py /tmp/base,. plain,field,cached,invoke 40

Rows: ``plain`` (cold schema of a fresh documented function), ``field`` (the same with
``Field(...)`` defaults; older toolkits refuse it), ``cached`` (``openai_schema()`` once built),
``invoke`` (``Tool.invoke`` with JSON text). Prints the best and the median of each.
"""

from __future__ import annotations

import gc
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import Field

sys.path.insert(0, str(Path(__file__).parent))
from _subject import ARGUMENTS, forecast, make_function

FIELD = '''
def {name}(
    city: str = Field(..., min_length=1, description="The name of the city."),
    days: int = Field(3, ge=1, le=7, description="How many days to forecast."),
    units: Literal["c", "f"] = Field("c", description="Celsius or Fahrenheit."),
) -> str:
    """Get the weather forecast for a city."""
    return f"{{city}}: sunny for {{days}} days ({{units}})"
'''
_names = itertools.count()


def _load(roots: list[str]) -> dict[str, ModuleType]:
    """Each root's ``toolkit``, imported afresh (an editable install's finder set aside)."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__]
    kits = {}
    for root in roots:
        sys.path.insert(0, str(Path(root).resolve()))
        import toolkit

        kits[root] = toolkit
        for name in [n for n in sys.modules if n == "toolkit" or n.startswith("toolkit.")]:
            del sys.modules[name]
        sys.path.pop(0)
    return kits


def _field_function() -> Callable[..., Any]:
    name = f"f_{next(_names)}"
    namespace: dict[str, Any] = {"Field": Field, "Literal": Literal, "__name__": "bench"}
    exec(compile(FIELD.format(name=name), name, "exec"), namespace)
    return namespace[name]  # type: ignore[no-any-return]


MAKERS: dict[str, Callable[[], Callable[..., Any]]] = {
    "plain": lambda: make_function(f"forecast_{next(_names)}"),
    "field": _field_function,
}


def _one(kit: ModuleType, row: str) -> float:
    """Nanoseconds per operation for one batch."""
    tool = kit.Tool
    if row in MAKERS:
        functions = [MAKERS[row]() for _ in range(40)]
        gc.collect()
        gc.disable()
        start = time.perf_counter_ns()
        for function in functions:
            tool.from_function(function).openai_schema()
        elapsed = time.perf_counter_ns() - start
        gc.enable()
        return elapsed / 40
    built = tool.from_function(forecast)
    if row == "cached":
        built.openai_schema()
        call: Callable[[], Any] = built.openai_schema
        count = 5000
    else:
        built.invoke(ARGUMENTS)
        call, count = (lambda: built.invoke(ARGUMENTS)), 2000
    start = time.perf_counter_ns()
    for _ in range(count):
        call()
    return (time.perf_counter_ns() - start) / count


def main() -> None:
    roots = sys.argv[1].split(",")
    rows = sys.argv[2].split(",") if len(sys.argv) > 2 else ["plain", "field", "cached", "invoke"]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    kits = _load(roots)
    results: dict[tuple[str, str], list[float]] = {(r, row): [] for r in roots for row in rows}
    for i in range(rounds + 1):  # round 0 warms the caches and is not counted
        for row in rows:
            for root in roots if i % 2 else roots[::-1]:
                try:
                    value = _one(kits[root], row)
                except Exception:  # an older toolkit refuses the Field shape
                    continue
                if i:
                    results[root, row].append(value)
    for row in rows:
        unit, scale = ("us", 1000) if row in MAKERS else ("ns", 1)
        cells = []
        for root in roots:
            xs = results[root, row]
            if not xs:
                cells.append(f"{root}: n/a")
                continue
            best, median = min(xs) / scale, statistics.median(xs) / scale
            cells.append(f"{root}: best {best:7.1f} median {median:7.1f} {unit}")
        print(f"{row:7s} " + "  |  ".join(cells))


if __name__ == "__main__":
    main()
