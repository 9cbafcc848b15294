"""Start the systems under test as separate processes on 127.0.0.1, watch their CPU and memory, stop them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

WORK = Path(__file__).resolve().parents[2] / ".work"
LOGS = WORK / "logs"
NOFILE = 20_000

LIVE_GROUPS: set[int] = set()
"""Process groups this harness started and has not stopped yet (each child runs in a session of its own)."""


def kill_leftovers() -> None:
    """SIGKILL every process group still registered: used when the harness itself is interrupted."""
    for pgid in list(LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        LIVE_GROUPS.discard(pgid)


def raise_nofile(want: int = NOFILE) -> int:
    """Raise this process's open-file limit as far as the hard limit allows; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CpuMark:
    cpu_s: float
    wall_s: float
    sys_s: float = 0.0  # the part spent in the kernel (system time)


class Proc:
    """One child process: its own process group, log file, raised fd limit, and CPU/RSS probes."""

    def __init__(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self._log = self.log_path.open("wb")
        full_env = {**os.environ, **(env or {})}
        self.popen = subprocess.Popen(
            list(argv),
            env=full_env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=raise_nofile,
        )
        self.ps = psutil.Process(self.popen.pid)
        LIVE_GROUPS.add(self.popen.pid)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss(self) -> int:
        """Resident set size of the process and its children, in bytes."""
        total = self.ps.memory_info().rss
        for child in self.ps.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return int(total)

    def cpu(self) -> CpuMark:
        """CPU seconds used so far (user + system, children included) and the wall clock."""
        total = kernel = 0.0
        for p in [self.ps, *self.ps.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
                kernel += t.system
        return CpuMark(total, time.monotonic(), kernel)

    def tail(self, lines: int = 20) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def wait_port(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {port} within {timeout}s:\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        LIVE_GROUPS.discard(self.popen.pid)
        self._log.close()


def machine_busy() -> CpuMark:
    """CPU seconds the whole machine has been busy (all cores, every process), idle and iowait excluded."""
    t = psutil.cpu_times()
    busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    return CpuMark(busy, time.monotonic())


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def kernel_fraction(before: CpuMark, after: CpuMark) -> float:
    """Of the CPU used between two marks, the fraction spent in the kernel."""
    used = after.cpu_s - before.cpu_s
    return (after.sys_s - before.sys_s) / used if used > 0 else float("nan")


def cpu_share(before: CpuMark, after: CpuMark) -> float:
    """Cores used between two marks (1.0 = one core busy all the time)."""
    wall = after.wall_s - before.wall_s
    return (after.cpu_s - before.cpu_s) / wall if wall > 0 else 0.0
