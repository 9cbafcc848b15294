"""Benchmark 2 (issue 3): tasks-api writes/s on PostgreSQL with the outbox relay publishing vs switched off.

Two tasks-api servers (one worker process per core) on fresh databases, identical but for
BOARDCAST_RELAY_ENABLED, and a third with the relay and a single worker, take turns under the same load
(``bench.httpload``: concurrent PATCH /api/tasks/{id}/status). After each publishing run the harness waits for
the outbox to drain and counts the events that reached a queue bound to the run's exchange: every committed
write must be there exactly once.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.procs import cpu_share, machine_busy
from bench.profile import Profile
from bench.stack import Client, EventCounter, Names, TasksApi, delete_broker_objects
from bench.stats import median, percentile

Log = Callable[[str], None]
PROJECTS = 8
TASKS_PER_PROJECT = 8


async def _prepare(api: TasksApi) -> Client:
    client = Client(api.base)
    await client.register()
    for p in range(PROJECTS):
        pid = await client.project(f"bench {p}")
        for _ in range(TASKS_PER_PROJECT):
            client.tasks.append((await client.task(pid))["id"])
    return client


async def _load(api: TasksApi, client: Client, profile: Profile) -> dict[str, Any]:
    assert api.proc is not None
    config = {
        "base": api.base,
        "token": client.token,
        "tasks": client.tasks,
        "duration": profile.tasks_s,
        "concurrency": profile.tasks_concurrency,
    }
    rows0 = await api.outbox_rows()
    cpu0, box0 = api.proc.cpu(), machine_busy()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.httpload", json.dumps(config), stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await proc.communicate()
    cpu1, box1 = api.proc.cpu(), machine_busy()
    out = json.loads(stdout)
    lat = out["lat_ms"]
    return {
        "writes": out["ok"],
        "errors": out["errors"],
        "writes_per_s": out["ok"] / out["elapsed_s"],
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "server_cores": cpu_share(cpu0, cpu1),
        "machine_cores": cpu_share(box0, box1),
        "loadgen_cores": out["cpu_s"] / out["elapsed_s"],
        "outbox_rows_written": (await api.outbox_rows()) - rows0,
    }


async def _drain(api: TasksApi, timeout: float = 60.0) -> float:
    """Seconds until the outbox has no pending row; raises if it does not drain in ``timeout``."""
    started = time.monotonic()
    while await api.pending_outbox() > 0:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"outbox did not drain in {timeout}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def run(profile: Profile, redis_url: str, log: Log) -> dict[str, Any]:
    names = Names(redis_url)
    workers = str(profile.tasks_workers)
    # The headline pair: production settings with one worker process per core (BOARDCAST_WORKERS), relay
    # on vs off. The third, one process with the relay, is what a single worker (one core) sustains.
    on = TasksApi(names, "relay_on", relay_enabled="true", workers=workers)
    off = TasksApi(names, "relay_off", relay_enabled="false", workers=workers)
    single = TasksApi(names, "relay_on_1w", relay_enabled="true", workers="1")
    apis = (on, off, single)
    counter = EventCounter(names.exchange)
    clients: list[Client] = []
    try:
        await asyncio.gather(*(api.start() for api in apis))
        await counter.start()
        clients = [await _prepare(api) for api in apis]
        for api in apis:
            if api is not off:
                await _drain(api)
        log(
            f"tasks-api: {PROJECTS * TASKS_PER_PROJECT} tasks in {PROJECTS} projects on each of "
            f"{len(apis)} fresh DBs"
        )
        runs: dict[str, list[dict[str, Any]]] = {api.label: [] for api in apis}
        for i in range(profile.reps):
            for api, client in zip(apis, clients, strict=True):
                publishing = api is not off
                before = await counter.count() if publishing else 0
                result = await _load(api, client, profile)
                if publishing:
                    result["drain_s"] = await _drain(api)
                    await asyncio.sleep(0.2)  # the confirm precedes the queue count by a hair
                    result["events_delivered"] = (await counter.count()) - before
                    # Every 2xx changed a status, so committed events (outbox rows), writes and the queue's
                    # count must all agree.
                    result["all_delivered"] = (
                        result["events_delivered"] == result["outbox_rows_written"] == result["writes"]
                    )
                else:
                    result["pending_after"] = await off.pending_outbox()
                    result["drain_s"] = math.nan
                runs[api.label].append(result)
                log(
                    f"  {api.label} run {i + 1}: {result['writes_per_s']:.0f} writes/s, "
                    f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                    f"server {result['server_cores']:.2f} cores, machine {result['machine_cores']:.2f}, "
                    "load generator "
                    f"{result['loadgen_cores']:.2f} cores, errors {result['errors']}"
                    + (
                        f", events delivered {result['events_delivered']}/{result['writes']} "
                        f"(outbox rows {result['outbox_rows_written']})"
                        if publishing
                        else ""
                    )
                )
        keys = (
            "writes_per_s",
            "p50_ms",
            "p99_ms",
            "server_cores",
            "loadgen_cores",
            "machine_cores",
            "drain_s",
        )
        summary: dict[str, Any] = {
            "concurrency": profile.tasks_concurrency,
            "duration_s": profile.tasks_s,
            "workers": profile.tasks_workers,
        }
        for label, rs in runs.items():
            summary[label] = {"runs": rs, **{f"median_{k}": median([r[k] for r in rs]) for k in keys}}
        on_rate, off_rate = (
            summary["relay_on"]["median_writes_per_s"],
            summary["relay_off"]["median_writes_per_s"],
        )
        summary["outbox_cost"] = 1 - on_rate / off_rate if off_rate else float("nan")
        summary["all_delivered"] = all(
            r["all_delivered"] for label in ("relay_on", "relay_on_1w") for r in runs[label]
        )
        return summary
    except Exception as exc:
        log(f"  FAILED: {exc!r}")
        return {"error": repr(exc)}
    finally:
        for client in clients:
            await client.aclose()
        for closer in (
            counter.stop(),
            *(api.stop() for api in apis),
            delete_broker_objects([], [names.exchange]),
        ):
            try:
                await closer
            except Exception as exc:
                log(f"  cleanup: {exc!r}")
