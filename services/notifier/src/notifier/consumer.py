"""The AMQP entry point: which events the notifier's queue takes, and the handler the broker runner calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from boardcast_contracts.routing import account_routing_key, project_pattern
from boardcast_contracts.topology import NOTIFIER_PROJECT_TYPES
from boardcast_messaging import ConsumerSpec, Delivery, Handler
from prometheus_client import Counter

from notifier.push import Pusher
from notifier.rules import event_type
from notifier.store import NotificationStore, PushPending

# The bound types live in boardcast_contracts.topology, which docs/asyncapi.yaml is generated from.
BOUND_TYPES = sorted(NOTIFIER_PROJECT_TYPES)

NOTIFICATIONS = Counter("boardcast_notifier_notifications_total", "Notifications stored, by kind", ["kind"])
PUSHED = Counter("boardcast_notifier_frames_pushed_total", "Notification events whose frames went to Redis")

PENDING_POLLS, PENDING_POLL_SECONDS = 20, 0.05

log = structlog.get_logger("notifier.consumer")


def consumer_spec(queue: str, prefetch: int, retry_delays: Sequence[float]) -> ConsumerSpec:
    bindings = [project_pattern(t) for t in BOUND_TYPES] + [account_routing_key("admin_changed")]
    return ConsumerSpec(queue=queue, bindings=bindings, prefetch=prefetch, retry_delays=tuple(retry_delays))


def make_handler(store: NotificationStore, pusher: Pusher) -> Handler:
    async def handle(delivery: Delivery) -> None:
        event = delivery.event
        bound = log.bind(event_id=str(event.event_id), event_type=event_type(event), attempt=delivery.attempt)
        recorded = await store.record(event)
        # A concurrent copy of this event is pushing right now: give it a moment before a delayed retry.
        for _ in range(PENDING_POLLS):
            if not recorded.pending:
                break
            await asyncio.sleep(PENDING_POLL_SECONDS)
            recorded = await store.claim_unpushed(event.event_id) or recorded
        if recorded.pending:
            raise PushPending(f"event {event.event_id} is being pushed by another delivery")
        if not recorded.duplicate:
            for item in recorded.notifications:
                NOTIFICATIONS.labels(item.notification.kind).inc()
        if recorded.notifications:
            try:
                counts = await store.unread_counts(recorded.user_ids)
                await pusher.push(recorded.notifications, counts)
            except Exception:
                # Best effort: if the database is down too, the claim simply expires.
                with contextlib.suppress(Exception):
                    await store.release_push(event.event_id)
                raise
            await store.mark_pushed(event.event_id)
            PUSHED.inc()
        bound.info(
            "event_handled",
            duplicate=recorded.duplicate,
            notified=[str(u) for u in recorded.user_ids],
        )

    return handle
