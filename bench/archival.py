"""Archival memory at scale: search latency over 100,000 passages, and insert throughput.

- FTS5 (BM25) alone: p50 / p95 per query. Passages are 15 words drawn from a 20,000-word
  vocabulary with Zipf frequencies (as real text has); queries are 3 content words.
- Hybrid: BM25 + cosine over 1,536-dimension float32 vectors, fused by reciprocal rank. The
  vectors come from a stand-in embedding model that returns precomputed random vectors, so
  only selfedit's own work is timed (no network).
- Insert throughput: passages per second, one at a time and in batches (insert_many).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from agent import AsyncClient
from agent._archival import ArchivalMemory
from agent.store import SQLiteStore as Store

N = 100_000
DIM = 1536
SYLLABLES = "ka lo mi ne ru sa ti vo be da fi gu ho ja ke li mo nu pe ri so tu wa ye zo".split()


def _vocabulary(size: int = 20_000, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    return sorted(words)


WORDS = _vocabulary()
# word frequencies follow Zipf's law, as in real text
WEIGHTS = [1 / (rank + 1) ** 1.1 for rank in range(len(WORDS))]
QUERY_WORDS = WORDS[50:5_000]  # content words: neither the commonest nor the rarest


class _Vectors:
    """Returns precomputed vectors (no model call is timed)."""

    name = "bench/random"

    def __init__(self) -> None:
        self.rng = np.random.default_rng(7)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        rows = self.rng.standard_normal((len(texts), DIM), dtype=np.float32)
        return list(rows)  # type: ignore[arg-type]  # rows of a matrix: as good as lists


def _texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"passage {i}: " + " ".join(rng.choices(WORDS, WEIGHTS, k=15)) for i in range(n)]


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


async def _fill(archival: ArchivalMemory, texts: list[str], batch: int = 5_000) -> float:
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        await archival.insert_many(texts[i : i + batch])
    return len(texts) / (time.perf_counter() - start)


async def _queries(archival: ArchivalMemory, n: int = 200) -> tuple[float, float]:
    rng = random.Random(3)
    times = []
    for _ in range(n):
        query = " ".join(rng.choices(QUERY_WORDS, k=3))
        start = time.perf_counter()
        await archival.search(query)
        times.append(time.perf_counter() - start)
    return _percentiles(times)


async def _single_inserts(archival: ArchivalMemory, n: int = 2_000) -> float:
    texts = _texts(n, seed=99)
    start = time.perf_counter()
    for text in texts:
        await archival.insert(text)
    return n / (time.perf_counter() - start)


async def run_all() -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(Path(tmp) / "fts.db")
        state = await client.agents.create(memory_blocks=[])
        archival = state.archival
        assert archival is not None
        batch_rate = await _fill(archival, _texts(N))
        p50, p95 = await _queries(archival)
        rows.append(f"| FTS5 (BM25) search, {N:,} passages | {p50:.2f} ms | {p95:.2f} ms |")
        single_rate = await _single_inserts(archival)
        client.close()

        store = Store(Path(tmp) / "hybrid.db")
        client = AsyncClient(Path(tmp) / "hybrid.db", embedding=_Vectors())
        state = await client.agents.create(memory_blocks=[], embedding="bench/random")
        archival = state.archival
        assert archival is not None
        hybrid_rate = await _fill(archival, _texts(N))
        await archival.search("warm up: loads the vector matrix once")
        p50, p95 = await _queries(archival, 100)
        rows.append(f"| hybrid (BM25 + {DIM}-d cosine, RRF), {N:,} | {p50:.2f} ms | {p95:.2f} ms |")
        client.close()
        store.close()
    rows.append("")
    rows.append(f"insert throughput: batch {batch_rate:,.0f} passages/s (FTS only), "
                f"{hybrid_rate:,.0f} passages/s (with {DIM}-d vectors); "
                f"single {single_rate:,.0f} passages/s (one transaction each)")  # fmt: skip
    return rows


def main() -> None:
    print(f"\n## Archival search ({N:,} passages, SQLite on disk)\n")
    print("| search | p50 | p95 |")
    print("|---|---|---|")
    for row in asyncio.run(run_all()):
        print(row)
    print("\ntarget: FTS p50 at most 5 ms")


if __name__ == "__main__":
    main()
