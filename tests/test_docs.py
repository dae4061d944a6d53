"""The Python examples in the docs run, so the docs never rot.

Every ```python block of a page runs in order, in one namespace per page (a later block may use
names from an earlier one). A block fenced as ```json output (or ```text output) must equal
what the python block just before it printed: pasted schemas stay the schemas the code makes.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    info: str
    code: str
    line: int


def blocks(text: str) -> list[Block]:
    return [
        Block(m[1].strip(), m[2], text.count("\n", 0, m.start()) + 2) for m in FENCE.finditer(text)
    ]


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page.read_text()) if b.info == "python"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples may name repository files (examples/tools.py)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    printed = None
    for block in blocks(page.read_text()):
        where = f"{page.name}:{block.line}"
        if block.info == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block.code, where, "exec", dont_inherit=True), namespace)
            printed = out.getvalue()
        elif block.info.endswith(" output"):
            assert printed is not None, f"{where}: an output block with no python block before it"
            assert printed == block.code, f"{where}: the output block differs from what was printed"
            printed = None


def test_pages_have_examples() -> None:
    assert python_blocks(ROOT / "docs" / "tools.md")
    assert all(b.code.strip() for page in PAGES for b in python_blocks(page))
