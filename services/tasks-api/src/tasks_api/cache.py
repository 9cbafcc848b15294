"""Read-through cache for workload and heatmap rows, one Redis hash per (project, user); keys from contracts.

A fill is only stored if no invalidation happened since before its database read, even when the key did not
exist yet (a DEL of a missing key is invisible to WATCH). So each fill first plants a token field in every
hash it will write (making the key exist), WATCHes the keys, checks the tokens survived, reads the database,
and writes in MULTI/EXEC: a DEL by the cache-invalidator at any point after the plant either makes the check
fail, aborts the EXEC, or deletes the written value afterwards. Redis being down only costs the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

log = structlog.get_logger("tasks_api.cache")
T = TypeVar("T")
_DOWN = (RedisError, OSError, TimeoutError)


class RowCache:
    def __init__(self, redis: Redis | None, ttl_seconds: int, *, retry_after: float = 2.0) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._retry_after = retry_after
        # After a failure, skip Redis for a moment instead of timing out on each request.
        self._down_until = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    async def read_through(
        self,
        keys: Sequence[str],
        field: str,
        load: Callable[[], Awaitable[list[str]]],
    ) -> tuple[list[str], bool]:
        """Values (JSON text) of ``field`` in each key, and whether all came from the cache (a hit).

        ``load`` computes every value from the database, in the order of ``keys``.
        """
        if not keys:
            return [], True
        if self._redis is None or time.monotonic() < self._down_until:
            return await load(), False
        try:
            cached: list[Any] = []
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hget(key, field)
                cached = await pipe.execute()
            if all(v is not None for v in cached):
                return [v.decode() if isinstance(v, bytes) else v for v in cached], True
            return await self._fill(keys, field, load), False
        except _DOWN as exc:
            log.warning("cache_unavailable", error=type(exc).__name__)
            self._down_until = time.monotonic() + self._retry_after
            return await load(), False

    def invalidate_soon(self, keys: set[str]) -> None:
        """Delete ``keys`` in the background (best effort: the cache-invalidator deletes them as well)."""
        if self._redis is None or time.monotonic() < self._down_until:
            return
        task = asyncio.create_task(self._delete(sorted(keys)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _delete(self, keys: list[str]) -> None:
        assert self._redis is not None
        try:
            await self._redis.delete(*keys)
        except _DOWN as exc:
            log.warning("cache_invalidation_skipped", error=type(exc).__name__)
            self._down_until = time.monotonic() + self._retry_after

    async def _fill(
        self, keys: Sequence[str], field: str, load: Callable[[], Awaitable[list[str]]]
    ) -> list[str]:
        assert self._redis is not None
        token_field, token = f"fill:{field}", uuid.uuid4().hex
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hset(key, token_field, token)
                pipe.expire(key, self._ttl)
            await pipe.execute()
        async with self._redis.pipeline(transaction=True) as tx:
            await tx.watch(*keys)
            async with self._redis.pipeline(transaction=False) as check:
                for key in keys:
                    check.hget(key, token_field)
                tokens = await check.execute()
            values = await load()
            if any((t.decode() if isinstance(t, bytes) else t) != token for t in tokens):
                return values  # invalidated (or refilled) since the plant: serve, do not store
            tx.multi()
            for key, value in zip(keys, values, strict=True):
                tx.hset(key, field, value)
                tx.hdel(key, token_field)
                tx.expire(key, self._ttl)
            # A WatchError means an invalidation raced the read: the value may be stale, so it is not stored.
            with contextlib.suppress(WatchError):
                await tx.execute()
        return values
