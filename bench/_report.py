"""Rows of a benchmark, the table they print as, and the targets checked against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from _timing import Timing

Kind = Literal["ours", "floor", "peer", "info"]


@dataclass(frozen=True)
class Row:
    """One contender's result; ``timing`` is ``None`` when the contender is not installed."""

    key: str
    """Short id, used by targets."""
    kind: Kind
    """``ours``, the ``floor``, a ``peer`` library, or ``info`` (shown, never a baseline)."""
    label: str
    """What was measured."""
    timing: Timing | None
    """The measurement, or ``None``."""


def measure(key: str, kind: Kind, label: str, setup: Callable[[], Timing]) -> Row:
    """Run ``setup``; a peer that cannot be imported becomes a "not installed" row."""
    try:
        timing = setup()
    except ImportError:
        timing = None
    return Row(key, kind, label, timing)


def _fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:8.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:8.2f} µs"
    return f"{ns:8.0f} ns"


def table(title: str, rows: list[Row], base: str) -> str:
    """The rows as text: median per call, and each row's time over row ``base``'s."""
    by_key = {r.key: r for r in rows}
    base_ns = by_key[base].timing.ns if by_key[base].timing else None
    width = max(len(r.label) for r in rows)
    lines = [title, f"  {'':<6} {'':<{width}}  {'median':>11}  {'spread':>6}  vs {base}"]
    for r in rows:
        if r.timing is None:
            lines.append(f"  {r.kind:<6} {r.label:<{width}}  not installed")
            continue
        ratio = f"{r.timing.ns / base_ns:7.2f}x" if base_ns else ""
        spread = f"{r.timing.spread:6.0%}"
        lines.append(f"  {r.kind:<6} {r.label:<{width}}  {_fmt(r.timing.ns)}  {spread}  {ratio}")
    return "\n".join(lines)


def fastest(rows: list[Row], kind: Kind) -> Row | None:
    """The fastest measured row of ``kind``."""
    measured = [r for r in rows if r.kind == kind and r.timing is not None]
    return min(measured, key=lambda r: r.timing.ns if r.timing else 0.0, default=None)


def target(name: str, ours: Row, other: Row | None, limit: float) -> str:
    """One line: ``ours`` over ``other`` against ``limit`` (a ratio)."""
    if ours.timing is None or other is None or other.timing is None:
        return f"  {name}: n/a (not installed)"
    ratio = ours.timing.ns / other.timing.ns
    verdict = "met" if ratio <= limit else "MISSED"
    return f"  {name} ({other.label}): {ratio:.2f}x  (target <= {limit}x: {verdict})"
