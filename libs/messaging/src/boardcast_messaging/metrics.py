"""Prometheus metrics shared by every publisher and consumer in the process (default registry)."""

from __future__ import annotations

from typing import TypeVar

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _metric(kind: type[M], name: str, doc: str, labels: tuple[str, ...], **kw: object) -> M:
    # Re-importing this module (importlib test mode, reloads) must reuse the collector already registered
    # instead of crashing on a duplicate name.
    existing = REGISTRY._names_to_collectors.get(name)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return kind(name, doc, labels, **kw)  # type: ignore[arg-type]


CONSUMED = _metric(Counter, "boardcast_messages_consumed", "Messages handled and acked", ("queue",))
FAILED = _metric(Counter, "boardcast_messages_failed", "Handler failures (every attempt)", ("queue",))
RETRIED = _metric(Counter, "boardcast_messages_retried", "Messages scheduled for a retry", ("queue",))
PARKED = _metric(Counter, "boardcast_messages_parked", "Messages dead-lettered to <queue>.parked", ("queue",))
PROCESSING = _metric(
    Histogram,
    "boardcast_message_processing_seconds",
    "Handler time per message",
    ("queue",),
    buckets=_LATENCY_BUCKETS,
)
LAG = _metric(
    Histogram,
    "boardcast_message_lag_seconds",
    "Time from the event's occurred_at to its delivery to a handler",
    ("queue",),
    buckets=_LAG_BUCKETS,
)
PUBLISHED = _metric(
    Counter, "boardcast_messages_published", "Messages confirmed by the broker", ("exchange",)
)
PUBLISH_FAILURES = _metric(
    Counter, "boardcast_publish_failures", "Publishes that raised PublishError", ("exchange",)
)
