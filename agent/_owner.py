"""Who holds an agent's turn lease, and whether that holder can still be alive."""

from __future__ import annotations

import functools
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Holder", "this_host"]

_RUNNING: set[tuple[str, str]] = set()
"""(owner, agent id) of the turns running in this process: a lease of this process that is
not among them was left behind (its turn ended, but giving the lease back failed)."""


@functools.cache
def this_host() -> str:
    """This machine, for lease holders: the host name and, on Linux, this boot's id.

    The boot id keeps a process of an earlier boot (whose pid may be reused) from looking
    alive after a reboot.
    """
    boot = Path("/proc/sys/kernel/random/boot_id")
    try:
        return f"{socket.gethostname()}/{boot.read_text().strip()}"
    except OSError:
        return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # a killed child nobody has reaped yet is a zombie: dead for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@dataclass(frozen=True)
class Holder:
    """A turn's claim on an agent: which client, on which host, in which process, until when."""

    owner: str
    """Unique per engine (client) instance."""
    host: str
    """``this_host()`` of the holder."""
    pid: int
    """The holder's process id."""
    acquired_at: float = 0.0
    """When it took the lease (Unix time)."""
    expires_at: float = 0.0
    """When the lease lapses unless renewed (Unix time)."""

    @classmethod
    def me(cls) -> Holder:
        """A new owner in this process."""
        return cls(f"client-{uuid.uuid4().hex[:12]}", this_host(), os.getpid())

    def running(self, agent_id: str, running: bool) -> None:
        """Note that this owner's turn of the agent started (or ended)."""
        if running:
            _RUNNING.add((self.owner, agent_id))
        else:
            _RUNNING.discard((self.owner, agent_id))

    def closed(self) -> None:
        """This owner's client is closed: none of its turns runs any more."""
        _RUNNING.difference_update({r for r in _RUNNING if r[0] == self.owner})

    def alive(self, agent_id: str) -> bool:
        """False only when the holder's turn of the agent is provably over.

        That is: its process on this host is gone, or it is this very process, where no turn
        of that owner and agent is running.
        """
        if self.host != this_host():
            return True
        if self.pid == os.getpid():
            return (self.owner, agent_id) in _RUNNING
        return _pid_alive(self.pid)

    def describe(self) -> str:
        """The holder, for an error message."""
        held = time.time() - self.acquired_at
        return f"{self.owner} (pid {self.pid} on {self.host.split('/')[0]}, for {held:.1f} s)"
