"""The turn lease: one turn of an agent at a time, across clients, processes and hosts.

A turn takes the agent's lease in the database (a short ``BEGIN IMMEDIATE`` on SQLite), renews
it while it runs, and gives it back at the end. Another turn of the same agent waits, polling
with a growing pause, for at most ``wait`` seconds, then fails with ``AgentBusyError`` naming
the holder. A lease whose holder died is taken over when it expires, or at once when the
holder is a process of this host that no longer exists (``kill -9``). Every step's commit
checks, inside its transaction, that the turn still holds the lease, so a turn that lost it
(it stalled past its expiry) can never write over its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from agent._commits import GroupCommit
from agent._errors import AgentBusyError
from agent._owner import Holder
from agent.store import Store

__all__ = ["Attempt", "LeaseConfig", "Leases"]

Attempt = Callable[[], Awaitable[Holder | None]]

logger = logging.getLogger("selfedit.lease")


@dataclass(frozen=True)
class LeaseConfig:
    """How long a lease lives and how long a turn waits for one."""

    ttl: float = 30.0
    """Seconds a lease lives without renewal (a running turn renews it every ``ttl / 3``)."""
    wait: float = 300.0
    """Seconds a turn waits for another client's turn of the same agent before giving up."""


class Leases:
    """Takes, renews and gives back the turn leases of one client (one owner)."""

    def __init__(
        self, store: Store, commits: GroupCommit, config: LeaseConfig | None = None
    ) -> None:
        self.store = store
        self.commits = commits
        """Takes and releases share commits with the steps of the same tick."""
        self.config = config or LeaseConfig()
        self.me = Holder.me()

    @contextlib.asynccontextmanager
    async def hold(self, agent_id: str) -> AsyncIterator[None]:
        """Hold the agent's lease for the body: wait for it, renew it, give it back."""
        await self.take(agent_id, lambda: self._try(agent_id))
        try:
            async with self.renewing(agent_id):
                yield
        finally:
            await self.give_back(agent_id)

    async def take(self, agent_id: str, attempt: Attempt) -> None:
        """Call ``attempt`` until it takes the lease (returns ``None``), or the wait runs out.

        ``attempt`` returns who holds the lease when it is taken by another turn; a turn
        passes one that also saves the user's message in the same transaction.

        Raises:
            AgentBusyError: the other turn did not end within ``config.wait`` seconds.
        """
        deadline = time.monotonic() + self.config.wait
        pause = 0.002
        while True:
            # running before the attempt: a client of this process that sees the lease taken
            # in the same commit must not think its holder's turn is over
            self.me.running(agent_id, True)
            try:
                holder = await attempt()
            except BaseException:
                self.me.running(agent_id, False)
                raise
            if holder is None:
                return
            self.me.running(agent_id, False)
            if time.monotonic() >= deadline:
                raise AgentBusyError(
                    f"agent {agent_id!r} is busy: another turn holds it, "
                    f"{holder.describe()}; waited {self.config.wait:g} s"
                )
            await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.1)

    def try_take(self, agent_id: str) -> Holder | None:
        """Take the lease if free (inside a transaction); else who holds it."""
        return self.store.take_lease(agent_id, self.me, self.config.ttl, time.time())

    def release(self, agent_id: str) -> None:
        """Give the lease back (inside a transaction: a turn's last commit does it)."""
        self.store.release_lease(agent_id, self.me.owner)

    def done(self, agent_id: str) -> None:
        """The turn is over (its lease given back, or left behind if that failed)."""
        self.me.running(agent_id, False)

    async def give_back(self, agent_id: str) -> None:
        """Give the lease back in a commit of its own (when no last commit did)."""
        self.done(agent_id)
        try:
            await self.commits.commit(lambda: self.release(agent_id))
        except Exception as e:  # a failing disk: the lease lapses by itself after ttl
            logger.warning("could not release the lease on %r: %s", agent_id, e)

    def give_back_all(self) -> None:
        """Give back every lease of this client, on close (an abandoned turn may hold one)."""
        self.me.closed()
        try:
            self.store.release_leases(self.me.owner)
        except Exception as e:  # a closed or failing database: they lapse after ttl
            logger.warning("could not release this client's leases: %s", e)

    @contextlib.asynccontextmanager
    async def renewing(self, agent_id: str) -> AsyncIterator[None]:
        """Keep renewing the lease while the body runs (a timer, every ``ttl / 3``)."""
        loop = asyncio.get_running_loop()
        interval = self.config.ttl / 3
        timer: list[asyncio.TimerHandle] = []

        def renew() -> None:
            if self._renew(agent_id):
                timer[0] = loop.call_later(interval, renew)

        timer.append(loop.call_later(interval, renew))
        try:
            yield
        finally:
            timer[0].cancel()

    async def _try(self, agent_id: str) -> Holder | None:
        """One attempt to take the lease (in a commit shared with the steps of this tick)."""
        found: list[Holder | None] = []
        await self.commits.commit(lambda: found.append(self.try_take(agent_id)))
        return found[0]

    def _renew(self, agent_id: str) -> bool:
        """Extend the lease; False once this turn no longer holds it."""
        try:
            expires = time.time() + self.config.ttl
            if self.store.renew_lease(agent_id, self.me.owner, expires):
                return True
            if self.store.lease_owner(agent_id) is not None:  # not merely given back already
                logger.warning("the lease on %r was taken over; this turn will fail", agent_id)
            return False
        except Exception as e:  # the next commit's lease check decides
            logger.warning("renewing the lease on %r failed: %s", agent_id, e)
            return True
