"""The function every contender wraps: three parameters, a Google docstring, a string result.

``make_function`` builds a fresh copy from source text, so a benchmark can hand each contender
function objects it has never seen (distinct names, and optionally distinct docstrings, defeat
any cache keyed on the function, its name or its docstring text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

ARGUMENTS = '{"city": "Paris", "days": 5, "units": "f"}'
"""JSON arguments, as a model sends them."""
ARGUMENTS_DICT = {"city": "Paris", "days": 5, "units": "f"}
"""The same arguments, already decoded."""

TEMPLATE = '''
def {name}(city: str, days: int = 3, units: Literal["c", "f"] = "c") -> str:
    """Get the weather forecast for a city{suffix}.

    Args:
        city: The name of the city.
        days: How many days to forecast.
        units: Celsius or Fahrenheit.
    """
    return f"{{city}}: sunny for {{days}} days ({{units}})"
'''


def make_function(name: str, suffix: str = "", lazy: bool = False) -> Callable[..., Any]:
    """A new function object called ``name``; ``suffix`` goes into its docstring's summary.

    ``lazy`` compiles it under ``from __future__ import annotations`` (string annotations, which
    every contender must evaluate); otherwise the annotations are evaluated objects.
    """
    namespace: dict[str, Any] = {"Literal": Literal, "__name__": "bench_generated"}
    source = TEMPLATE.format(name=name, suffix=suffix)
    if lazy:
        source = f"from __future__ import annotations\n{source}"
    exec(compile(source, f"<{name}>", "exec", dont_inherit=True), namespace)
    fn: Callable[..., Any] = namespace[name]
    return fn


def forecast(city: str, days: int = 3, units: Literal["c", "f"] = "c") -> str:
    """Get the weather forecast for a city.

    Args:
        city: The name of the city.
        days: How many days to forecast.
        units: Celsius or Fahrenheit.
    """
    return f"{city}: sunny for {days} days ({units})"


async def aforecast(city: str, days: int = 3, units: Literal["c", "f"] = "c") -> str:
    """Get the weather forecast for a city.

    Args:
        city: The name of the city.
        days: How many days to forecast.
        units: Celsius or Fahrenheit.
    """
    return f"{city}: sunny for {days} days ({units})"
