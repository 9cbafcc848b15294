"""Drive the Node WebSocket load generator (bench/node/loadgen.js) from the harness, over its stdin/stdout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.procs import LIVE_GROUPS, LOGS, CpuMark, raise_nofile

NODE_DIR = Path(__file__).resolve().parents[2] / "node"


def ensure_node_modules() -> None:
    """`npm ci` once, from the committed package-lock.json, when node_modules is missing or stale."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the load generator and the socket.io peer")
    marker = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True)


@dataclass
class Target:
    """``count`` sockets to ``url``; ``sio_auth`` is the socket.io namespace-connect payload, if any."""

    url: str
    count: int
    sio_auth: dict[str, Any] | None = None
    subprotocols: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"url": self.url, "count": self.count}
        if self.sio_auth is not None:
            doc["sioAuth"] = self.sio_auth
        if self.subprotocols:
            doc["subprotocols"] = self.subprotocols
        return doc


@dataclass
class Report:
    open: int
    received: int
    stale: int
    other: int
    first_us: int
    last_us: int
    completed: int
    closed_unexpectedly: int
    close_codes: dict[str, int]
    latencies_us: list[int]


class LoadGen:
    """One generator process holding many sockets. Use ``async with LoadGen.start(...)``."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.ps = psutil.Process(proc.pid)
        self.name = name
        self.completed = 0
        self.completed_event = asyncio.Event()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls,
        name: str,
        targets: list[Target],
        *,
        protocol: str = "raw",
        sample_every: int = 10,
        concurrency: int = 50,
    ) -> LoadGen:
        config = {
            "protocol": protocol,
            "targets": [t.as_json() for t in targets],
            "sampleEvery": sample_every,
            "concurrency": concurrency,
        }
        LOGS.mkdir(parents=True, exist_ok=True)
        config_path = LOGS / f"loadgen-{name}.json"
        config_path.write_text(json.dumps(config))
        stderr = (LOGS / f"loadgen-{name}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            "node",
            "--max-old-space-size=2048",
            str(NODE_DIR / "loadgen.js"),
            str(config_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            limit=64 * 1024 * 1024,  # a report line carries every sampled latency
            preexec_fn=raise_nofile,
            start_new_session=True,
        )
        stderr.close()
        LIVE_GROUPS.add(proc.pid)
        return cls(proc, name)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            msg = json.loads(line)
            if msg.get("ev") == "completed":
                self.completed = msg["completed"]
                self.completed_event.set()
            else:
                await self._replies.put(msg)
        await self._replies.put({"ev": "exited"})

    async def _expect(self, ev: str, timeout: float) -> dict[str, Any]:
        msg = await asyncio.wait_for(self._replies.get(), timeout)
        if msg.get("ev") != ev:
            raise RuntimeError(f"load generator {self.name}: expected {ev}, got {msg}")
        return msg

    async def _send(self, cmd: str, **args: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.proc.stdin.drain()

    async def connected(self, timeout: float = 180.0) -> dict[str, Any]:
        """Wait for every socket to have connected or failed; returns ``{ok, failed, errors, ms}``."""
        return await self._expect("connected", timeout)

    async def reset(self, min_k: int = 0) -> None:
        """Zero the counters; frames numbered below ``min_k`` (an earlier run's) are no longer counted."""
        self.completed = 0
        self.completed_event.clear()
        await self._send("reset", min_k=min_k)
        await self._expect("reset", 10)

    async def report(self) -> Report:
        await self._send("report")
        msg = await self._expect("report", 30)
        msg.pop("ev")
        return Report(**msg)

    def cpu(self) -> CpuMark:
        t = self.ps.cpu_times()
        return CpuMark(t.user + t.system, asyncio.get_running_loop().time(), t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._send("close")
                await asyncio.wait_for(self.proc.wait(), 10)
            if self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, 9)
                await self.proc.wait()
        LIVE_GROUPS.discard(self.proc.pid)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
