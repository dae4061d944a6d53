"""Argument types shared by the toolkit tests: a TypedDict, a dataclass, nested models."""

from dataclasses import dataclass

from pydantic import BaseModel
from typing_extensions import TypedDict


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Box:
    width: int
    label: str = "box"


class Address(BaseModel):
    city: str
    zip_code: str | None = None


class Person(BaseModel):
    name: str
    address: Address
    tags: list[str] = []
