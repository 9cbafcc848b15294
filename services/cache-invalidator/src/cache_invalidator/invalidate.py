"""The AMQP entry point: which events the queue takes, and the handler that deletes the keys they affect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from boardcast_contracts.keys import affected_cache_keys
from boardcast_contracts.routing import project_pattern
from boardcast_contracts.topology import CACHE_PROJECT_TYPES
from boardcast_messaging import ConsumerSpec, Delivery, Handler
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis

# The bound types live in boardcast_contracts.topology, which docs/asyncapi.yaml is generated from.
BOUND_TYPES = sorted(CACHE_PROJECT_TYPES)

STALENESS = Histogram(
    "boardcast_cache_invalidation_staleness_seconds",
    "From the event's occurred_at (its commit) to its cache keys being deleted",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0),
)
KEYS_DELETED = Counter("boardcast_cache_keys_deleted", "Cache keys that existed and were deleted")

log = structlog.get_logger("cache_invalidator")


def consumer_spec(queue: str, prefetch: int, retry_delays: Sequence[float]) -> ConsumerSpec:
    return ConsumerSpec(
        queue=queue,
        bindings=[project_pattern(t) for t in BOUND_TYPES],
        prefetch=prefetch,
        retry_delays=tuple(retry_delays),
    )


def make_handler(redis: Redis) -> Handler:
    async def handle(delivery: Delivery) -> None:
        event = delivery.event
        keys = sorted(affected_cache_keys(event))
        if not keys:
            return
        # A Redis error propagates: the runner retries the message later instead of acking it.
        deleted = int(await redis.delete(*keys))
        staleness = max(0.0, (datetime.now(UTC) - event.occurred_at).total_seconds())
        KEYS_DELETED.inc(deleted)
        # Only first deliveries measure the window; a retry's delay is Redis's outage, not our latency.
        if delivery.attempt == 1:
            STALENESS.observe(staleness)
        log.info(
            "cache_invalidated",
            event_id=str(event.event_id),
            event_type=type(event).model_fields["type"].default,
            keys=len(keys),
            deleted=deleted,
            attempt=delivery.attempt,
            staleness_ms=round(staleness * 1000, 2),
        )

    return handle
