"""The process that reads tool sources for the server: long-lived, replaced when it must be.

A parameter's default is evaluated where the source is read, so ``os.getpid()`` as a default
shows (in the schema's description) which process read it.
"""

import asyncio
import os
import re
import signal
from collections.abc import Iterator

import pytest

from agent.server._tool_source import SourceReader
from toolkit import SchemaError

WHO = '''import os

def who_{n}(pid: int = os.getpid()):
    """Say which process read this.

    Args:
        pid: the reader's process id.
    """
    return pid
'''


@pytest.fixture(scope="module")
def reader() -> Iterator[SourceReader]:
    reader = SourceReader(timeout=1.0)
    yield reader
    reader.close()


def pid_of(reader: SourceReader, n: int = 0, source: str = WHO) -> int:
    read = asyncio.run(reader.describe(source.format(n=n)))
    described = read.schema["function"]["parameters"]["properties"]["pid"]["description"]
    return int(re.search(r"default: (\d+)", described)[1])  # type: ignore[index]


def test_one_process_reads_many_sources(reader: SourceReader) -> None:
    pids = {pid_of(reader, n) for n in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids


def test_a_source_whose_top_level_runs_code_gets_a_fresh_process_after_it(
    reader: SourceReader,
) -> None:
    before = pid_of(reader)
    patched = "import toolkit\ntoolkit.Tool.from_source = None\n\n" + WHO
    assert pid_of(reader, source=patched) == before  # read before the process is replaced
    after = pid_of(reader)  # the patch died with its process
    assert after != before


def test_a_hanging_source_is_killed_and_the_next_read_works(reader: SourceReader) -> None:
    hang = WHO.replace("os.getpid()", "__import__('time').sleep(60) or 1")
    with pytest.raises(SchemaError, match=r"took over 1s"):
        asyncio.run(reader.describe(hang.format(n=0)))
    assert pid_of(reader) > 0


def test_a_crashing_source_is_an_error_and_the_next_read_works(reader: SourceReader) -> None:
    crash = WHO.replace("os.getpid()", "os._exit(3)")
    with pytest.raises(SchemaError, match=r"exited \(3\)"):
        asyncio.run(reader.describe(crash.format(n=0)))
    assert pid_of(reader) > 0


def test_a_process_killed_between_reads_is_replaced(reader: SourceReader) -> None:
    before = pid_of(reader)
    os.kill(before, signal.SIGKILL)
    assert pid_of(reader) != before


def test_problems_are_listed_and_do_not_cost_the_process(reader: SourceReader) -> None:
    before = pid_of(reader)
    with pytest.raises(SchemaError) as raised:
        asyncio.run(reader.describe("def bad(x, *args):\n    return x\n"))
    assert len(raised.value.problems) >= 2
    assert pid_of(reader) == before


SETTLED = '''import typing

def settled_{n}(x: typing.Optional[int] = None, label: "str" = "a b") -> int:
    """Nothing in reading this can come out differently the next time.

    Args:
        x: a number.
        label: a label.
    """
    return 1
'''


def test_an_unchanged_settled_source_is_read_once(reader: SourceReader) -> None:
    first = asyncio.run(reader.describe(SETTLED.format(n=0)))
    sent = reader._sent
    again = asyncio.run(reader.describe(SETTLED.format(n=0)))
    assert again == first and reader._sent == sent  # no request: the answer was kept
    asyncio.run(reader.describe(SETTLED.format(n=1)))
    assert reader._sent == sent + 1


def test_a_source_with_a_call_is_read_every_time(reader: SourceReader) -> None:
    assert pid_of(reader) == pid_of(reader)  # os.getpid() in a default: asked twice
    sent = reader._sent
    pid_of(reader)
    assert reader._sent == sent + 1


def test_a_new_process_reads_everything_afresh(reader: SourceReader) -> None:
    asyncio.run(reader.describe(SETTLED.format(n=2)))
    patched = "import toolkit\ntoolkit.Tool.from_source = None\n\n" + WHO
    asyncio.run(reader.describe(patched.format(n=0)))  # replaces the process
    sent = reader._sent
    asyncio.run(reader.describe(SETTLED.format(n=2)))
    assert reader._sent == sent + 1


def test_a_cancelled_read_does_not_disturb_the_next(reader: SourceReader) -> None:
    slow = WHO.replace("os.getpid()", "__import__('time').sleep(0.3) or os.getpid()")

    async def cancel_then_read() -> int:
        task = asyncio.ensure_future(reader.describe(slow.format(n=0)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        read = await reader.describe(WHO.format(n=7))
        return int(re.search(r"default: (\d+)", str(read.schema))[1])  # type: ignore[index]

    before = pid_of(reader)
    assert asyncio.run(cancel_then_read()) == before  # the same process answered in order
