"""``selfedit schema FILE``: print the OpenAI schemas of the tools in a file."""

import json
import textwrap
from pathlib import Path

import pytest

from agent._cli import main

TOOLS = '''
from toolkit import tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two numbers.

    Args:
        a: First.
        b: Second.
    """
    return a + b


@tool
def store(data: dict) -> str:
    """Store anything.

    Args:
        data: Anything.
    """
    return "ok"


def plain(text: str) -> str:
    """Echo a text.

    Args:
        text: The text.
    """
    return text


def helper(x):
    return x
'''

BROKEN = '''
from toolkit import tool


@tool
def broken(a, *rest: int) -> int:
    """Args:
    ghost: Nothing.
    """
    return 1
'''

BROKEN_REST = '''
from toolkit import tool


@tool
def broken(a, *rest: int) -> int:
    """:param ghost: Nothing."""
    return 1
'''


def write(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return str(path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_schema_of_every_tool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["schema", write(tmp_path, "cli_tools_all", TOOLS)], capsys)
    assert status == 0, err
    schemas = json.loads(out)
    assert [s["function"]["name"] for s in schemas] == ["add", "store"]
    assert [s["function"]["strict"] for s in schemas] == [True, False]
    assert schemas[0]["type"] == "function"
    assert schemas[0]["function"]["parameters"]["required"] == ["a", "b"]


def test_loose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["schema", write(tmp_path, "cli_tools_loose", TOOLS), "--loose"], capsys)
    assert status == 0
    schemas = json.loads(out)
    assert [s["function"]["strict"] for s in schemas] == [False, False]
    assert schemas[0]["function"]["parameters"]["required"] == ["a"]
    assert schemas[0]["function"]["parameters"]["properties"]["b"]["default"] == 1


def test_strict_on_a_tool_that_cannot_be_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        ["schema", write(tmp_path, "cli_tools_strict", TOOLS), "--strict"], capsys
    )
    assert status == 2
    assert out == ""
    assert "store" in err
    assert "parameter 'data'" in err


def test_strict_on_strict_able_tools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "cli_tools_strict_ok", TOOLS)
    status, out, _ = run(["schema", path, "--name", "add", "--strict"], capsys)
    assert status == 0
    [schema] = json.loads(out)
    assert schema["function"]["strict"] is True


def test_plain_function_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "cli_tools_named", TOOLS)
    status, out, _ = run(["schema", path, "--name", "plain"], capsys)
    assert status == 0
    [schema] = json.loads(out)
    assert schema["function"]["name"] == "plain"
    assert schema["function"]["description"] == "Echo a text."
    assert schema["function"]["parameters"]["properties"]["text"]["description"] == "The text."


def test_several_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "cli_tools_names", TOOLS)
    status, out, _ = run(["schema", path, "--name", "plain", "--name", "add"], capsys)
    assert status == 0
    assert [s["function"]["name"] for s in json.loads(out)] == ["plain", "add"]


def test_undocumented_plain_function_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "cli_tools_helper", TOOLS)
    status, out, err = run(["schema", path, "--name", "helper"], capsys)
    assert status == 2
    assert out == ""
    assert "no description" in err
    assert "parameter 'x' has no type annotation" in err


def test_unknown_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "cli_tools_unknown", TOOLS)
    status, _, err = run(["schema", path, "--name", "nope"], capsys)
    assert status == 2
    assert "'nope'" in err


@pytest.mark.parametrize("code", [BROKEN, BROKEN_REST])
def test_broken_tool_prints_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    name = "cli_tools_broken" if code is BROKEN else "cli_tools_broken_rest"
    status, out, err = run(["schema", write(tmp_path, name, code)], capsys)
    assert status == 2
    assert out == ""
    assert "function 'broken'" in err
    assert "no description" in err
    assert "parameter 'a' has no type annotation" in err
    assert "*rest: variadic" in err
    assert "documents 'ghost'" in err


def test_file_without_tools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["schema", write(tmp_path, "cli_no_tools", "X = 1\n")], capsys)
    assert status == 2
    assert out == ""
    assert "no @tool found" in err
