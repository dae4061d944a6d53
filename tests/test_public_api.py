"""Each package's ``__all__`` lists exactly its public names."""

import importlib
import inspect
import types

import pytest


@pytest.mark.parametrize("package", ["toolkit", "agent", "stdlib_tools"])
def test_all_matches_public_names(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(module.__all__) == sorted(public)
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith(package), name


def test_toolkit_contract_names() -> None:
    import toolkit

    for name in ["tool", "Tool", "ToolSet", "ToolResult", "Injected", "ToolError", "SchemaError"]:
        assert name in toolkit.__all__
