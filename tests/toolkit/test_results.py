"""Return values serialized for the model; the Python value kept."""

import datetime
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from toolkit import tool


class Point(BaseModel):
    x: int
    label: str


@dataclass
class Pair:
    a: int
    when: datetime.date


def returning(value: Any, **options: Any) -> Any:
    def give() -> Any:
        """Give a value."""
        return value

    return tool(**options)(give)


def test_str_as_is() -> None:
    result = returning('He said "hi"\n').invoke()
    assert result.content == 'He said "hi"\n'
    assert result.value == 'He said "hi"\n'


def test_pydantic_model_as_json() -> None:
    point = Point(x=1, label="é")
    result = returning(point).invoke()
    assert json.loads(result.content) == {"x": 1, "label": "é"}
    assert result.value is point


def test_dataclass_as_json() -> None:
    result = returning(Pair(1, datetime.date(2024, 1, 2))).invoke()
    assert json.loads(result.content) == {"a": 1, "when": "2024-01-02"}


def test_dicts_lists_tuples_as_json() -> None:
    assert json.loads(returning({"a": [1, 2]}).invoke().content) == {"a": [1, 2]}
    assert json.loads(returning([1, "b", None]).invoke().content) == [1, "b", None]
    result = returning((1, 2)).invoke()
    assert json.loads(result.content) == [1, 2]
    assert result.value == (1, 2)


def test_non_ascii_is_kept() -> None:
    content = returning({"city": "Zürich", "emoji": "☃"}).invoke().content
    assert "Zürich" in content
    assert "☃" in content
    assert "\\u" not in content


def test_datetimes_as_iso() -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    content = returning({"when": when}).invoke().content
    assert json.loads(content) == {"when": "2024-01-02T03:04:05"}


def test_numbers_and_bools() -> None:
    assert returning(42).invoke().content == "42"
    assert returning(True).invoke().content == "true"


def test_none() -> None:
    result = returning(None).invoke()
    assert result.status == "success"
    assert result.content == "None"
    assert result.value is None


def test_long_output_is_cut_with_a_note() -> None:
    text = "x" * 25
    result = returning(text, return_char_limit=10).invoke()
    assert result.status == "success"
    assert result.content.startswith("x" * 10)
    assert "x" * 11 not in result.content
    assert "15" in result.content
    assert "cut" in result.content
    assert result.value == text


def test_output_at_the_limit_is_not_cut() -> None:
    assert returning("x" * 10, return_char_limit=10).invoke().content == "x" * 10


def test_default_limit_is_generous() -> None:
    assert returning("y" * 20_000).invoke().content == "y" * 20_000
