"""Saving a step: its records, memory edits and tool writes, all or nothing, never over others'.

Block writes compare and set on the versions the client last saw. An edit that lost a race is
re-applied to the fresh value (``merge``) when it still applies: right after the tool that made
it (``settle``: otherwise that tool's result becomes an error showing the current value), and
once more inside the commit (otherwise the step fails). The commit also checks that the turn
still holds its lease, and may take or give back the lease in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from agent._errors import BlockError
from agent._history import Record
from agent._lease import Leases
from agent._live import Fields, LiveAgent, fields, merge
from agent._memory import Block, Snapshot
from agent._owner import Holder
from agent._reads import GroupReads
from agent._registry import ToolRegistry
from agent._unit import StepWrites
from agent.store import Store
from toolkit import ToolResult

__all__ = ["StepSaver"]


class StepSaver:
    """Writes steps for one client: its store, and the leases of its turns."""

    def __init__(self, store: Store, leases: Leases) -> None:
        self.store = store
        self.leases = leases
        self.commits = leases.commits
        self.reads = GroupReads(store)

    async def refresh(self, live: LiveAgent, registry: ToolRegistry) -> None:
        """Reload what other clients changed since ``live`` last looked (``LiveAgent.refresh``).

        The versions it starts from are read with other agents' of this tick (``GroupReads``).
        """
        store, agent_id = self.store, live.state.id
        versions = await self.reads.versions(agent_id) if store.remote else store.versions(agent_id)
        live.catch_up(store, registry, versions)

    async def settle(self, live: LiveAgent, snapshot: Snapshot, result: ToolResult) -> ToolResult:
        """Re-apply a tool's block edits over what other clients wrote while it ran.

        An edit that no longer applies is dropped, and the tool's result becomes an error
        that shows the model the block's current value.
        """
        before = {id(block): saved for block, saved in snapshot}
        edited = [
            block
            for block in live.state.memory
            if block.id in live.known.blocks and before.get(id(block)) != block.__dict__
        ]  # blocks new in this step, and those this tool left alone, need no check
        if not edited:
            return result
        ids = [block.id for block in edited]
        remote = self.store.remote
        stored = await self.reads.block_versions(ids) if remote else self.store.block_versions(ids)
        conflicts: list[Block] = []
        for block in edited:
            entry = live.known.blocks[block.id]
            if stored.get(block.id, entry[0]) == entry[0]:
                continue  # unchanged elsewhere (a deleted block fails at commit)
            found = self.store.versioned_block(block.id)
            if found is None:
                continue
            fresh, version = fields(found[0]), found[1]
            merged = merge(entry[1], fields(block), fresh)
            if merged is None:  # keep what earlier tools of this step did, if that applies
                merged = merge(entry[1], before.get(id(block), entry[1]), fresh) or fresh
                conflicts.append(block)
            block.__dict__.update(merged)
            live.known.blocks[block.id] = (version, fresh)
        if not conflicts:
            return result
        shown = "\n".join(f"<{b.label}>\n{b.value}\n</{b.label}>" for b in conflicts)
        labels = ", ".join(repr(b.label) for b in conflicts)
        return ToolResult(
            "error",
            f"Error: memory block {labels} was changed by someone else while this tool ran, so "
            f"this edit was not applied. Current value:\n{shown}\n"
            "Redo the edit against the current value if it is still needed.",
        )

    async def commit(
        self,
        live: LiveAgent,
        records: list[Record],
        writes: StepWrites | None = None,
        *,
        take: bool = False,
        release: bool = False,
        check: Callable[[], None] | None = None,
    ) -> Holder | None:
        """Write the step's records, memory edits and tool writes atomically.

        Block writes compare and set on the versions this client last saw (an edit that lost a
        race is re-applied to the fresh value, or the step fails); the version bump checks, in
        the same transaction, that the turn still holds its lease. ``take`` first takes the
        lease (returning its holder, and writing nothing, when another turn has it);
        ``release`` gives it back; ``check`` runs first (after the take), and what it raises
        undoes the commit. Steps of several agents may share one commit
        (``GroupCommit``), each in its own savepoint.
        """
        agent_id, known, leases, store = live.state.id, live.known, self.leases, self.store
        written: dict[str, tuple[int, Fields]] = {}
        holder: list[Holder] = []
        marks: list[int] = []

        def write() -> None:
            if take and (busy := leases.try_take(agent_id)) is not None:
                holder.append(busy)
                return
            if check is not None:
                check()
            edited = self._edited(live)
            before, after, versions = store.save_step(
                agent_id, leases.me.owner, records, [(b, entry[0]) for b, entry in edited]
            )
            marks.extend((before, before if after is None else after))
            written.update(self._written(live, edited, versions))
            if writes is not None:
                writes.run()
            if release:
                leases.release(agent_id)

        await self.commits.commit(write)
        if holder:
            return holder[0]
        known.blocks.update(written)
        known.order = tuple(b.id for b in live.state.memory)
        if marks[0] == known.history:  # nobody else wrote history since: ours is all there is
            known.history = marks[1]
        live.context.extend(records)
        return None

    @staticmethod
    def _edited(live: LiveAgent) -> list[tuple[Block, tuple[int, Fields]]]:
        """The blocks edited since they were saved, each with (version, fields) as saved."""
        known = live.known.blocks
        return [
            (block, entry)
            for block in live.state.memory.blocks
            if (entry := known.get(block.id)) is not None and entry[1] != block.__dict__
        ]

    def _written(
        self,
        live: LiveAgent,
        edited: list[tuple[Block, tuple[int, Fields]]],
        versions: list[int | None],
    ) -> dict[str, tuple[int, Fields]]:
        """After the compare-and-sets: re-apply the edits that lost a race; attach new blocks.

        Inside the commit.
        """
        written: dict[str, tuple[int, Fields]] = {}
        for (block, entry), version in zip(edited, versions, strict=True):
            if version is None:  # written meanwhile: re-apply (we hold the write lock now)
                version = self._rewrite(block, entry[1])
            written[block.id] = (version, fields(block))
        blocks = live.state.memory.blocks
        if tuple(b.id for b in blocks) != live.known.order:
            attached = self.store.attach_blocks(live.state.id, blocks)
            for block in blocks:
                written.setdefault(block.id, (attached[block.id], fields(block)))
        return written

    def _rewrite(self, block: Block, seen: Fields) -> int:
        """Re-apply a block's edit to the value written meanwhile, and write it."""
        found = self.store.versioned_block(block.id)
        merged = None if found is None else merge(seen, fields(block), fields(found[0]))
        version = None
        if found is not None and merged is not None:
            block.__dict__.update(merged)
            version = self.store.write_block(block, found[1])
        if version is None:
            raise BlockError(
                f"memory block {block.label!r} was changed by someone else during this step "
                "and the step's edit no longer applies"
            )
        return version
