"""The turn lease's rows (see ``agent._lease``): taken, renewed and given back, in portable SQL.

A mixin of ``Store``, which provides the connection and its transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from agent._owner import Holder

if TYPE_CHECKING:
    from agent.store._statements import Connection

__all__ = ["LeaseRows"]


class LeaseRows:
    """The ``leases`` table: one row per agent whose turn is running."""

    db: Connection
    transaction: Callable[[], AbstractContextManager[None]]
    soon: Callable[..., None]

    def take_lease(self, agent_id: str, me: Holder, ttl: float, now: float) -> Holder | None:
        """Take the agent's turn lease if it is free, expired or held by a dead process.

        Returns ``None`` when taken, else who holds it.
        """
        with self.transaction():  # BEGIN IMMEDIATE: one taker at a time
            taken = self.db.execute(  # the common case in one statement: free or expired
                "INSERT INTO leases VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (agent_id) DO "
                "UPDATE SET owner = ?2, host = ?3, pid = ?4, acquired_at = ?5, expires_at = ?6 "
                "WHERE leases.owner = ?2 OR leases.expires_at <= ?5",
                (agent_id, me.owner, me.host, me.pid, now, now + ttl),
            ).rowcount
            if taken:
                return None
            row = self.db.execute(
                "SELECT owner, host, pid, acquired_at, expires_at FROM leases WHERE agent_id = ?",
                (agent_id,),
            ).fetchone()
            holder = Holder(row[0], row[1], int(row[2]), float(row[3]), float(row[4]))
            if holder.alive(agent_id):
                return holder
            self.db.execute(  # its process is gone (kill -9): take it over at once
                "UPDATE leases SET owner = ?, host = ?, pid = ?, acquired_at = ?, expires_at = ? "
                "WHERE agent_id = ?",
                (me.owner, me.host, me.pid, now, now + ttl, agent_id),
            )
            return None

    def renew_lease(self, agent_id: str, owner: str, expires_at: float) -> bool:
        """Extend a lease this owner holds; False if it no longer holds it."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE leases SET expires_at = ? WHERE agent_id = ? AND owner = ?",
                (expires_at, agent_id, owner),
            )
            return bool(cursor.rowcount == 1)

    def lease_owner(self, agent_id: str) -> str | None:
        """Who holds the agent's lease now, if anyone."""
        row = self.db.execute("SELECT owner FROM leases WHERE agent_id = ?", (agent_id,)).fetchone()
        return None if row is None else str(row[0])

    def release_lease(self, agent_id: str, owner: str) -> None:
        """Give the lease back (only if this owner still holds it)."""
        with self.transaction():  # sent with the commit where the backend can
            self.soon("DELETE FROM leases WHERE agent_id = ? AND owner = ?", (agent_id, owner))

    def release_leases(self, owner: str) -> None:
        """Give back every lease ``owner`` holds."""
        with self.transaction():
            self.db.execute("DELETE FROM leases WHERE owner = ?", (owner,))
