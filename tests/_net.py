"""Loopback helpers shared by the server and MCP tests: a free port, and waiting for a server."""

import contextlib
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll until the port accepts connections (or the process died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)  # a port opening is an outside event: there is nothing to await
    raise TimeoutError(f"the server did not start on port {port}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate test servers, killing any that do not exit within 15 s."""
    for process in processes:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
