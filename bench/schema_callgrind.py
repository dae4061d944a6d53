"""Instructions per cold schema, for an A/B of two toolkit checkouts that no noise can move.

``valgrind --tool=callgrind`` counts instructions, not seconds: the same total on a loaded
machine as on an idle one. Run it twice per checkout, with and without the schemas, and
subtract (what remains is the schemas alone)::

    git worktree add /tmp/base b6caa26
    for root in /tmp/base .; do for mode in schemas functions; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
            python bench/schema_callgrind.py $root 1000 $mode 2>&1 | grep Collected
    done; done

(schemas - functions) / 1000 is the instructions of one cold
``Tool.from_function(f).openai_schema()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

root, count, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, str(Path(root).resolve()))
sys.path.insert(1, str(Path(__file__).parent))
from _subject import make_function  # noqa: E402

from toolkit import Tool  # noqa: E402

functions = [make_function(f"forecast_{i}", "", False) for i in range(count + 50)]
for fn in functions[:50]:  # warm: the per-type caches, as in a program's first tools
    Tool.from_function(fn).openai_schema()
if mode == "schemas":
    for fn in functions[50:]:
        Tool.from_function(fn).openai_schema()
