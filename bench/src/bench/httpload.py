"""HTTP load generator process: N workers PATCH task statuses for a bounded time, then print a JSON report.

Run by the harness as ``python -m bench.httpload '<config json>'`` so its CPU is measured apart from the
system under test. Each worker owns its own tasks (no two workers race on one row) and flips each between
``todo`` and ``in_progress`` (starting from the status it has); every 2xx is one committed change and one
outbox event.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from typing import Any

import aiohttp


async def statuses(session: aiohttp.ClientSession, base: str, tasks: list[str]) -> dict[str, str]:
    """Each task's status now: a PATCH to the status it already has changes (and emits) nothing."""
    out = {}
    for task_id in tasks:
        async with session.get(f"{base}/api/tasks/{task_id}") as response:
            response.raise_for_status()
            out[task_id] = (await response.json())["status"]
    return out


async def worker(
    session: aiohttp.ClientSession,
    base: str,
    current: dict[str, str],
    deadline: float,
    out: dict[str, Any],
) -> None:
    tasks = list(current)
    for task_id in itertools.cycle(tasks):
        if time.monotonic() >= deadline:
            return
        current[task_id] = "in_progress" if current[task_id] == "todo" else "todo"
        body = {"status": current[task_id]}
        started = time.monotonic()
        try:
            async with session.patch(f"{base}/api/tasks/{task_id}/status", json=body) as response:
                await response.read()
                status = response.status
        except aiohttp.ClientError as exc:
            out["errors"][type(exc).__name__] += 1
            continue
        elapsed = time.monotonic() - started
        if 200 <= status < 300:
            out["ok"] += 1
            out["lat_ms"].append(round(elapsed * 1000, 3))
        else:
            out["errors"][str(status)] += 1


async def run(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": 0, "errors": Counter(), "lat_ms": []}
    headers = {"Authorization": f"Bearer {config['token']}"}
    connector = aiohttp.TCPConnector(limit=config["concurrency"])
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        base, tasks, n = config["base"], config["tasks"], config["concurrency"]
        now = await statuses(session, base, tasks)
        shares = [{t: now[t] for t in tasks[i::n]} for i in range(n)]
        cpu0 = time.process_time()  # start-up, imports and the status reads are not load
        started = time.monotonic()
        deadline = started + config["duration"]
        await asyncio.gather(*(worker(session, base, share, deadline, out) for share in shares))
        out["elapsed_s"] = time.monotonic() - started
    out["cpu_s"] = time.process_time() - cpu0
    out["errors"] = dict(out["errors"])
    return out


def main() -> None:
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)


if __name__ == "__main__":
    main()
