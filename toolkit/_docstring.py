"""Reading a tool's description and its parameters' descriptions out of a docstring."""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass
from typing import Literal

import docstring_parser

__all__ = ["DocstringStyle", "ParsedDoc", "parse_docstring"]

DocstringStyle = Literal["auto", "google", "numpy", "rest", "epydoc"]

_STYLES = {
    "google": docstring_parser.DocstringStyle.GOOGLE,
    "numpy": docstring_parser.DocstringStyle.NUMPYDOC,
    "rest": docstring_parser.DocstringStyle.REST,
    "epydoc": docstring_parser.DocstringStyle.EPYDOC,
}
# Cheap markers that settle the style without letting docstring-parser try every style.
_MARKERS = (
    ("rest", re.compile(r"^\s*:(param|returns?|raises?|type)\b", re.M)),
    ("epydoc", re.compile(r"^\s*@(param|return|raise|type)\b", re.M)),
    ("numpy", re.compile(r"^\s*(Parameters|Returns|Raises|Examples?)\s*\n\s*-{3,}", re.M)),
    ("google", re.compile(r"^\s*(Args|Arguments|Parameters|Returns?|Raises|Examples?):\s*$", re.M)),
)


_NO_SUMMARY = "(no summary)"


@dataclass(frozen=True)
class ParsedDoc:
    """What a docstring says that the model should see."""

    description: str
    """Summary and long description; never the Args, Returns, Raises or Examples sections."""
    params: dict[str, str]
    """Each documented parameter's description, by name."""


def _detect(doc: str) -> docstring_parser.DocstringStyle:
    for style, marker in _MARKERS:
        if marker.search(doc):
            return _STYLES[style]
    return _STYLES["google"]


def _parse(doc: str, style: DocstringStyle) -> docstring_parser.Docstring:
    chosen = _detect(doc) if style == "auto" else _STYLES[style]
    return docstring_parser.parse(doc, style=chosen)


@functools.lru_cache(maxsize=4096)
def parse_docstring(doc: str | None, style: DocstringStyle = "auto") -> ParsedDoc:
    """Parse ``doc`` in ``style`` ("auto" detects it); cached by text, so it is parsed once.

    Raises:
        ValueError: the docstring is malformed (an empty section, say).
    """
    if not doc or not doc.strip():
        return ParsedDoc("", {})
    try:
        parsed = _parse(inspect.cleandoc(doc), style)
    except docstring_parser.ParseError:
        # 'Args:' right after the quotes, with no summary: its body is indented deeper than
        # it. Clean the text as if it began on the next line (so the section keeps its shape)
        # and put a placeholder summary above it, which the parser needs.
        try:
            parsed = _parse(f"{_NO_SUMMARY}\n\n{inspect.cleandoc(chr(10) + doc)}", style)
        except docstring_parser.ParseError as e:
            raise ValueError(f"docstring cannot be parsed: {e}") from None
        parsed.short_description = None
    parts = [p.strip() for p in (parsed.short_description, parsed.long_description) if p]
    params = {
        p.arg_name.split()[-1].lstrip("*"): " ".join((p.description or "").split())
        for p in parsed.params
    }
    return ParsedDoc("\n\n".join(parts), params)
