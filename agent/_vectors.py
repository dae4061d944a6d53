"""An in-memory vector index per agent: float32 rows, cosine similarity, numpy when present.

Vectors are stored in SQLite as float32 blobs and loaded once per process into one matrix, so
a query is one matrix-vector product, not a loop over passage objects. Without numpy (an
optional extra), a pure-Python scan over the same float32 arrays is used.
"""

from __future__ import annotations

import array
import functools
import importlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["VectorIndex", "from_blob", "to_blob", "unit"]


@functools.cache
def _numpy() -> Any:
    """numpy, or ``None`` without the optional "vectors" extra.

    Imported at the first vector operation, not at import: it is heavy, and starts BLAS threads.
    """
    try:
        return importlib.import_module("numpy")
    except ImportError:  # pragma: no cover - numpy is the optional "vectors" extra
        return None


def to_blob(vector: Sequence[float]) -> bytes:
    """A vector as float32 bytes, normalized to length 1 (so cosine is a dot product)."""
    np = _numpy()
    if np is not None:
        values = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(values)) or 1.0
        return bytes((values / norm).astype(np.float32).tobytes())
    return array.array("f", unit(vector)).tobytes()


def unit(vector: Sequence[float]) -> list[float]:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def from_blob(blob: bytes) -> array.array[float]:
    """A float32 blob back as an array."""
    values = array.array("f")
    values.frombytes(blob)
    return values


class VectorIndex:
    """Unit vectors by passage ``seq``; ``top(query, k, allowed)`` ranks by cosine."""

    def __init__(self, rows: Iterable[tuple[int, bytes]] = ()) -> None:
        self._seqs: list[int] = []
        self._blobs: list[bytes] = []
        # numpy copies, grown in place as vectors are added (capacity doubles), rebuilt only
        # after a removal: a search after an insert copies the new rows, not the whole archive
        self._matrix: Any = None
        self._seq_array: Any = None
        self._rows = 0
        for seq, blob in rows:
            self.add(seq, blob)

    def __len__(self) -> int:
        return len(self._seqs)

    def __contains__(self, seq: object) -> bool:
        return seq in self._seqs

    def add(self, seq: int, blob: bytes) -> None:
        """Add one vector."""
        self._seqs.append(seq)
        self._blobs.append(blob)

    def remove(self, seq: int) -> None:
        """Remove the vector of ``seq``, if present."""
        if seq in self._seqs:
            i = self._seqs.index(seq)
            del self._seqs[i], self._blobs[i]
            self._matrix, self._rows = None, 0

    def _arrays(self) -> tuple[Any, Any]:
        """The vectors as one float32 matrix and their seqs, brought up to date."""
        np, n = _numpy(), len(self._blobs)
        if self._matrix is None or len(self._matrix) < n:
            capacity = max(n, 2 * (0 if self._matrix is None else len(self._matrix)), 64)
            dim = len(self._blobs[0]) // 4
            matrix, seqs = np.empty((capacity, dim), np.float32), np.empty(capacity, np.int64)
            if self._matrix is not None:
                matrix[: self._rows], seqs[: self._rows] = (
                    self._matrix[: self._rows],
                    self._seq_array[: self._rows],
                )
            self._matrix, self._seq_array = matrix, seqs
        if self._rows < n:
            new = b"".join(self._blobs[self._rows :])
            self._matrix[self._rows : n] = np.frombuffer(new, np.float32).reshape(
                n - self._rows, -1
            )
            self._seq_array[self._rows : n] = self._seqs[self._rows :]
            self._rows = n
        return self._matrix[:n], self._seq_array[:n]

    def top(self, query: list[float], k: int, allowed: set[int] | None = None) -> list[int]:
        """The ``k`` most similar seqs (only among ``allowed``, when given), best first."""
        if not self._seqs or k <= 0:
            return []
        q, np = from_blob(to_blob(query)), _numpy()
        if np is None:
            return self._top_python(q, k, allowed)
        matrix, seq_array = self._arrays()
        scores = matrix @ np.frombuffer(q.tobytes(), dtype=np.float32)
        if allowed is not None:
            keep = np.isin(seq_array, np.fromiter(allowed, dtype=np.int64))
            scores = np.where(keep, scores, -np.inf)
            k = min(k, int(keep.sum()))
        k = min(k, len(scores))
        if k <= 0:
            return []
        # the k best, plus anything tied with the k-th, then ordered by score and seq: the
        # same order as the pure-Python path, whatever argpartition picks among ties
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        near = np.flatnonzero(scores >= kth)
        order = near[np.lexsort((seq_array[near], -scores[near]))][:k]
        return [int(seq_array[i]) for i in order]

    def _top_python(self, q: array.array[float], k: int, allowed: set[int] | None) -> list[int]:
        scored = [
            (sum(a * b for a, b in zip(q, from_blob(blob), strict=False)), seq)
            for seq, blob in zip(self._seqs, self._blobs, strict=True)
            if allowed is None or seq in allowed
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [seq for _, seq in scored[:k]]
