"""Who publishes and who consumes on the exchange: default queue names, bindings and the types they read.

This is the table ``docs/asyncapi.yaml`` is generated from. Services may take their queue name from settings
(tests use unique ones), but the defaults and the routing-key patterns below are the deployed topology.
"""

from __future__ import annotations

from dataclasses import dataclass

from boardcast_contracts.events import ACCOUNT_EVENT_TYPES, PROJECT_EVENT_TYPES
from boardcast_contracts.routing import ALL_PROJECT_EVENTS, account_routing_key, project_pattern

PUBLISHER = "tasks-api"
PARKED_SUFFIX = ".parked"
"""``<queue>.parked`` holds the messages a consumer gave up on, with the reason (see ConsumerSpec)."""

NOTIFIER_PROJECT_TYPES: frozenset[str] = frozenset(
    {
        "task_created",
        "task_updated",
        "task_status_changed",
        "task_assigned",
        "task_deleted",
        "task_restored",
        "member_added",
        "comment_created",
        "comment_updated",
    }
)
"""Project event types the notifier reads: the ones that notify, and the task events of its projection."""

CACHE_PROJECT_TYPES: frozenset[str] = frozenset(
    {"task_created", "task_updated", "task_status_changed", "task_assigned", "task_deleted", "task_restored"}
)
"""Project event types ``keys.affected_cache_keys`` can answer with a non-empty set for."""


@dataclass(frozen=True, slots=True)
class Consumer:
    """One consumer service: its durable quorum queue (shared by all its replicas) and what it is bound to."""

    service: str
    queue: str
    bindings: tuple[str, ...]
    event_types: frozenset[str]
    ordered: bool
    """True: single active consumer with in-place retries, so per-project seq order survives redelivery."""
    purpose: str


GATEWAY_INGEST = Consumer(
    service="gateway-ws",
    queue="gateway-ws.ingest",
    bindings=(ALL_PROJECT_EVENTS,),
    event_types=PROJECT_EVENT_TYPES,
    ordered=True,
    purpose="writes every project event, in seq order, to its Redis room (pub/sub + capped stream)",
)
NOTIFIER = Consumer(
    service="notifier",
    queue="notifier",
    bindings=(
        *(project_pattern(t) for t in sorted(NOTIFIER_PROJECT_TYPES)),
        *(account_routing_key(t) for t in sorted(ACCOUNT_EVENT_TYPES)),
    ),
    event_types=NOTIFIER_PROJECT_TYPES | ACCOUNT_EVENT_TYPES,
    ordered=False,
    purpose="stores per-user notifications (at most one per user and event) and pushes them live",
)
CACHE_INVALIDATOR = Consumer(
    service="cache-invalidator",
    queue="cache-invalidator",
    bindings=tuple(project_pattern(t) for t in sorted(CACHE_PROJECT_TYPES)),
    event_types=CACHE_PROJECT_TYPES,
    ordered=False,
    purpose="deletes exactly the workload/heatmap cache keys an event affects (keys.affected_cache_keys)",
)

CONSUMERS: tuple[Consumer, ...] = (GATEWAY_INGEST, NOTIFIER, CACHE_INVALIDATOR)
