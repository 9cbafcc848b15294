"""Fan-out measurements: closed-loop throughput, open-loop latency, and memory per idle connection."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
from collections.abc import Callable
from typing import Any

from bench import promhist
from bench.events import EventFactory, now_us
from bench.gateway.systems import System
from bench.loadgen import LoadGen
from bench.procs import cpu_share, kernel_fraction, machine_busy
from bench.profile import Profile
from bench.stats import median, percentile

Log = Callable[[str], None]
DRAIN_S = 10.0  # how long a run may take to deliver what was published before it counts as stalled


async def _drain(lg: LoadGen, published: int, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while lg.completed < published:
        lg.completed_event.clear()
        if lg.completed >= published:
            break
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lg.completed_event.wait(), remaining)
    return True


async def _quiesce(lg: LoadGen, timeout: float = 20.0) -> None:
    """After a run that did not drain, wait until its late frames stop arriving (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = -1
    while loop.time() < deadline:
        rep = await lg.report()
        seen = rep.received + rep.stale
        if seen == last:
            return
        last = seen
        await asyncio.sleep(0.5)


async def closed_loop(
    system: System, lg: LoadGen, room: str, factory: EventFactory, *, duration: float, window: int
) -> dict[str, Any]:
    """Keep ``window`` messages in flight for ``duration`` s: the delivered rate is the system's capacity.

    A new message is published each time an earlier one has reached every socket, so the system always has
    work but its queues stay bounded (an open-loop overload would only measure how it sheds load).
    """
    assert system.server is not None
    loop = asyncio.get_running_loop()
    await lg.reset(min_k=factory.next_seq)
    server0, gen0, box0 = system.server.cpu(), lg.cpu(), machine_busy()
    start_us = now_us()
    deadline = loop.time() + duration
    published = 0
    stalled = False
    while loop.time() < deadline:
        lg.completed_event.clear()
        if published - lg.completed < window:
            await system.publish(room, factory.next())
            published += 1
            continue
        try:
            await asyncio.wait_for(lg.completed_event.wait(), DRAIN_S)
        except TimeoutError:
            stalled = True
            break
    drained = not stalled and await _drain(lg, published, DRAIN_S)
    server1, gen1, box1 = system.server.cpu(), lg.cpu(), machine_busy()
    rep = await lg.report()
    if not drained:
        await _quiesce(lg)
    elapsed = (rep.last_us - start_us) / 1e6 if rep.received else math.nan
    rate = rep.received / elapsed if rep.received else 0.0
    server_cores = cpu_share(server0, server1)
    return {
        "published": published,
        "received": rep.received,
        "expected": published * rep.open,
        "drained": drained,
        "elapsed_s": elapsed,
        "delivered_per_s": rate,
        "server_cores": server_cores,
        "delivered_per_cpu_s": rate / server_cores if server_cores > 0 else math.nan,
        "loadgen_cores": cpu_share(gen0, gen1),
        "machine_cores": cpu_share(box0, box1),
        "server_kernel_fraction": kernel_fraction(server0, server1),
        "loadgen_kernel_fraction": kernel_fraction(gen0, gen1),
        "p50_ms": percentile(rep.latencies_us, 50) / 1000,
        "p99_ms": percentile(rep.latencies_us, 99) / 1000,
        "dropped_sockets": rep.closed_unexpectedly,
        "close_codes": rep.close_codes,
    }


async def open_loop(
    system: System, lg: LoadGen, room: str, factory: EventFactory, *, rate: float, duration: float
) -> dict[str, Any]:
    """Publish at a steady ``rate`` messages/s for ``duration`` s; latency is publish -> client receive."""
    assert system.server is not None
    loop = asyncio.get_running_loop()
    await lg.reset(min_k=factory.next_seq)
    server0, gen0 = system.server.cpu(), lg.cpu()
    count = max(3, int(rate * duration))  # a slow system gets a longer run, not a single sample
    t0 = loop.time()
    for k in range(count):
        delay = t0 + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await system.publish(room, factory.next())
    drained = await _drain(lg, count, DRAIN_S)
    server1, gen1 = system.server.cpu(), lg.cpu()
    rep = await lg.report()
    if not drained:
        await _quiesce(lg)
    lat = rep.latencies_us
    return {
        "rate_msgs": rate,
        "offered_per_s": rate * rep.open,
        "published": count,
        "received": rep.received,
        "expected": count * rep.open,
        "drained": drained,
        "samples": len(lat),
        "p50_ms": percentile(lat, 50) / 1000,
        "p90_ms": percentile(lat, 90) / 1000,
        "p99_ms": percentile(lat, 99) / 1000,
        "max_ms": (max(lat) / 1000) if lat else math.nan,
        "server_cores": cpu_share(server0, server1),
        "loadgen_cores": cpu_share(gen0, gen1),
        "dropped_sockets": rep.closed_unexpectedly,
    }


def _summary(runs: list[dict[str, Any]], *keys: str) -> dict[str, Any]:
    return {"runs": runs, **{f"median_{k}": median([r[k] for r in runs]) for k in keys}}


THROUGHPUT_KEYS = (
    "delivered_per_s",
    "server_cores",
    "loadgen_cores",
    "machine_cores",
    "server_kernel_fraction",
    "loadgen_kernel_fraction",
    "delivered_per_cpu_s",
    "p99_ms",
)
LATENCY_KEYS = ("p50_ms", "p90_ms", "p99_ms", "offered_per_s", "server_cores")
SERVER_LATENCY_KEYS = ("server_p50_le_ms", "server_p99_le_ms")


class Room:
    """One started system with one room of sockets held by one load generator, measured run by run."""

    def __init__(self, system: System, profile: Profile, log: Log) -> None:
        self.system = system
        self.profile = profile
        self.log = log
        self.room = system.new_room()
        self.factory = EventFactory(system.room_project(self.room))
        self.lg: LoadGen | None = None
        self.window = 2
        self.result: dict[str, Any] = {}
        self.runs: dict[str, list[dict[str, Any]]] = {
            "throughput": [],
            "latency_common": [],
            "latency_half": [],
            "sweep": [],
        }
        self.sweep: dict[float, list[dict[str, Any]]] = {}

    async def open(self) -> None:
        system, profile = self.system, self.profile
        targets = system.targets(self.room, profile.room_sockets)
        self.lg = lg = await LoadGen.start(f"{system.key}-room", targets, protocol=system.protocol)
        conn = await lg.connected()
        self.log(f"  {system.key}: {conn['ok']} sockets in {conn['ms']} ms ({conn['failed']} failed)")
        if conn["ok"] < profile.room_sockets:
            raise RuntimeError(
                f"only {conn['ok']}/{profile.room_sockets} sockets connected: {conn['errors']}"
            )
        await system.settle(lg, self.room)
        # Warm-up: the first messages pay for imports, JIT, buffer growth; not measured.
        warm = await closed_loop(system, lg, self.room, self.factory, duration=0.5, window=2)
        if not warm["drained"] or warm["dropped_sockets"]:
            raise RuntimeError(f"warm-up failed: {warm}")
        # Enough messages in flight for ~0.2 s of this system's work keeps it busy; more would only make a
        # slow system's runs end with a long drain.
        per_s = warm["delivered_per_s"] / conn["ok"]
        self.window = max(2, min(profile.window, math.ceil(per_s * 0.2)))
        self.result = {"sockets": conn["ok"], "connect_ms": conn["ms"], "window": self.window}

    async def throughput(self) -> None:
        assert self.lg is not None
        r = await closed_loop(
            self.system,
            self.lg,
            self.room,
            self.factory,
            duration=self.profile.throughput_s,
            window=self.window,
        )
        self.runs["throughput"].append(r)
        self.log(
            f"  {self.system.key}: {r['delivered_per_s']:,.0f} msg/s; "
            f"server {r['server_cores']:.2f} cores ({r['server_kernel_fraction']:.0%} kernel), "
            f"generator {r['loadgen_cores']:.2f} ({r['loadgen_kernel_fraction']:.0%} kernel), "
            f"machine {r['machine_cores']:.2f}; drained={r['drained']}, dropped {r['dropped_sockets']}"
        )

    async def latency_half(self) -> None:
        """Latency at half of this system's own median throughput (messages/s into the room)."""
        best = median([r["delivered_per_s"] for r in self.runs["throughput"]]) / self.result["sockets"]
        await self.latency("latency_half", max(0.2, best / 2))

    async def latency_at(self, rate: float) -> None:
        """One point of the latency-vs-load sweep; skipped where the rate is beyond what this system sustains
        (its runs would only measure a growing queue)."""
        best = median([r["delivered_per_s"] for r in self.runs["throughput"]]) / self.result["sockets"]
        if rate > 0.8 * best:
            return
        await self.latency("sweep", rate)
        self.sweep.setdefault(rate, []).append(self.runs["sweep"].pop())

    async def latency(self, name: str, rate: float) -> None:
        assert self.lg is not None
        url = self.system.metrics_url
        before = await promhist.scrape(url, self.system.latency_metric) if url else []
        r = await open_loop(
            self.system, self.lg, self.room, self.factory, rate=rate, duration=self.profile.latency_s
        )
        if url:
            # The server's own view: occurred_at to the frame written to every local socket.
            seen = promhist.between(before, await promhist.scrape(url, self.system.latency_metric))
            r["server_p50_le_ms"] = promhist.quantile_ms(seen, 0.5)
            r["server_p99_le_ms"] = promhist.quantile_ms(seen, 0.99)
        self.runs[name].append(r)
        self.log(
            f"  {self.system.key}: {name} at {r['offered_per_s']:,.0f} msg/s: p50 {r['p50_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms, {r['received']}/{r['expected']} delivered"
        )

    def summary(self) -> dict[str, Any]:
        out = dict(self.result)
        if self.runs["throughput"]:
            out["throughput"] = _summary(self.runs["throughput"], *THROUGHPUT_KEYS)
        for name in ("latency_common", "latency_half"):
            if self.runs[name]:
                out[name] = _summary(self.runs[name], *self._latency_keys(self.runs[name]))
        if self.sweep:
            out["sweep"] = {
                f"{rate:g}": _summary(runs, *self._latency_keys(runs))
                for rate, runs in sorted(self.sweep.items())
            }
        return out

    @staticmethod
    def _latency_keys(runs: list[dict[str, Any]]) -> tuple[str, ...]:
        return LATENCY_KEYS + (SERVER_LATENCY_KEYS if "server_p99_le_ms" in runs[0] else ())

    async def close(self) -> None:
        if self.lg is not None:
            await self.lg.close()


async def measure_idle(system: System, count: int, log: Log, room_size: int = 100) -> dict[str, Any]:
    """Server RSS per idle connection: (RSS with ``count`` sockets - RSS with none) / count."""
    assert system.server is not None
    await asyncio.sleep(1.0)
    gc.collect()
    base = system.server.rss()
    targets = []
    for _ in range(max(1, count // room_size)):
        targets += system.targets(system.new_room(), min(room_size, count))
    lg = await LoadGen.start(f"{system.key}-idle", targets, protocol=system.protocol)
    try:
        conn = await lg.connected(timeout=300)
        log(f"  {conn['ok']} idle sockets in {conn['ms']} ms ({conn['failed']} failed {conn['errors']})")
        await asyncio.sleep(3.0)  # let handshakes, joins and presence settle
        loaded = system.server.rss()
        rep = await lg.report()
        held = rep.open
        per = (loaded - base) / held if held else math.nan
        log(
            f"  {held} held ({rep.closed_unexpectedly} closed by the server {rep.close_codes}); RSS "
            f"{base / 2**20:.1f} MiB -> {loaded / 2**20:.1f} MiB: {per / 1024:.1f} KiB per connection"
        )
        return {
            "sockets": held,
            "failed": conn["failed"],
            "closed_by_server": rep.closed_unexpectedly,
            "close_codes": rep.close_codes,
            "errors": conn["errors"],
            "connect_ms": conn["ms"],
            "rss_base_mib": base / 2**20,
            "rss_loaded_mib": loaded / 2**20,
            "kib_per_conn": per / 1024,
            "loadgen_rss_mib": lg.rss() / 2**20,
        }
    finally:
        await lg.close()
