"""Benchmark 3 (issue 5): how long a workload cache entry outlives the task change that made it stale.

The stack as processes: tasks-api (fresh database, relay on) -> RabbitMQ -> cache-invalidator -> Redis.
Each sample: read the workload (fills the key), check the key is there, PATCH the task's estimate, then poll
Redis until the key is gone. The window is timed from the PATCH being sent (the commit is inside the request,
so this bounds it from above) and from its answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from boardcast_contracts.keys import workload_key
from redis.asyncio import Redis

from bench import promhist
from bench.procs import Proc, free_port, python_module
from bench.profile import Profile
from bench.stack import Client, Names, TasksApi, delete_broker_objects, wait_ready
from bench.stats import percentile

Log = Callable[[str], None]
POLL_S = 0.0005
TIMEOUT_S = 2.0


async def _sample(
    client: Client, redis: Redis, key: str, task_id: str, params: dict[str, str], hours: float
) -> Any:
    # An earlier event still on its way (the task's creation) may delete a fresh fill: read until it stays.
    for _ in range(20):
        r = await client.http.get("/api/workload", params=params)
        r.raise_for_status()
        if await redis.exists(key):
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError(f"workload reads did not fill {key} (X-Cache: {r.headers.get('X-Cache')})")
    sent = time.monotonic()
    r = await client.http.patch(f"/api/tasks/{task_id}", json={"estimate_hours": hours})
    answered = time.monotonic()
    r.raise_for_status()
    while await redis.exists(key):
        if time.monotonic() - sent > TIMEOUT_S:
            return None
        await asyncio.sleep(POLL_S)
    gone = time.monotonic()
    return (gone - sent) * 1000, (gone - answered) * 1000


METRIC = "boardcast_cache_invalidation_staleness_seconds"


async def invalidator_histogram(port: int) -> dict[str, float]:
    """The invalidator's own view (event occurred_at -> keys deleted): p50/p99 as histogram bucket bounds."""
    buckets = await promhist.scrape(f"http://127.0.0.1:{port}/metrics", METRIC)
    return {
        "count": buckets[-1][1] if buckets else 0.0,
        "p50_le_ms": promhist.quantile_ms(buckets, 0.5),
        "p99_le_ms": promhist.quantile_ms(buckets, 0.99),
    }


def _dist(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
    }


async def run(profile: Profile, redis_url: str, log: Log) -> dict[str, Any]:
    names = Names(redis_url)
    api = TasksApi(names, "cache", relay_enabled="true")
    invalidator: Proc | None = None
    client: Client | None = None
    redis = Redis.from_url(redis_url)
    port = free_port()
    env = {
        **names.common_env(),
        "BOARDCAST_PORT": str(port),
        "BOARDCAST_CACHE_INVALIDATOR_QUEUE": f"bench.cache-invalidator.{names.tag}",
    }
    try:
        await api.start()
        invalidator = Proc("cache-invalidator", python_module("cache_invalidator"), env=env)
        await wait_ready(invalidator, f"http://127.0.0.1:{port}/readyz")
        client = Client(api.base)
        await client.register()
        project = await client.project("bench cache")
        monday = date.today() - timedelta(days=date.today().weekday())
        task = await client.task(
            project, assignee_id=client.user_id, estimate_hours=1.0, due_date=str(monday + timedelta(days=2))
        )
        key = workload_key(uuid.UUID(project), uuid.UUID(client.user_id))
        params = {"project_id": project, "week": str(monday)}
        # Warm-up: the first change also waits for the invalidator's queue binding and connections.
        for i in range(5):
            await _sample(client, redis, key, task["id"], params, 2.0 + i)
        from_request: list[float] = []
        from_response: list[float] = []
        missed = 0
        for i in range(profile.cache_samples):
            got = await _sample(client, redis, key, task["id"], params, 1.0 + (i % 7))
            if got is None:
                missed += 1
                continue
            from_request.append(got[0])
            from_response.append(got[1])
        result: dict[str, Any] = {
            "samples_n": profile.cache_samples,
            "not_invalidated": missed,
            "from_request_ms": _dist(from_request),
            "from_response_ms": _dist(from_response),
            "samples": {"from_request_ms": from_request, "from_response_ms": from_response},
            "invalidator_metric": await invalidator_histogram(port),
        }
        log(
            f"cache: {len(from_request)} changes: p50 {result['from_request_ms']['p50']:.1f} ms, "
            f"p99 {result['from_request_ms']['p99']:.1f} ms from PATCH sent; "
            f"{missed} not invalidated in {TIMEOUT_S} s"
        )
        return result
    except Exception as exc:
        log(f"  FAILED: {exc!r}")
        return {"error": repr(exc)}
    finally:
        if client is not None:
            await client.aclose()
        if invalidator is not None:
            invalidator.stop()
            await delete_broker_objects([env["BOARDCAST_CACHE_INVALIDATOR_QUEUE"]], [names.exchange])
        await redis.aclose()
        try:
            await api.stop()
        except Exception as exc:
            log(f"  cleanup: {exc!r}")
