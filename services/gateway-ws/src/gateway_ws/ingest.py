"""Broker ingest: each project event is written once, in seq order, into its Redis room, then acked.

The queue is shared by every replica and consumed single-active with retry-in-place, so one replica ingests
at a time in broker order; redeliveries and overlapping ingesters are dropped by RoomStore.append's seq check.
A handler that cannot reach Redis raises, so the broker keeps the message and retries it where it stands.
"""

from __future__ import annotations

import structlog
from boardcast_contracts import MemberAdded, MemberRemoved, ProjectEvent, encode_event
from boardcast_messaging import ConsumerHandle, ConsumerSpec, Delivery

from gateway_ws.metrics import Metrics
from gateway_ws.store import RoomStore

log = structlog.get_logger("gateway_ws.ingest")


class Ingest:
    def __init__(self, store: RoomStore, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics

    async def handle(self, delivery: Delivery) -> None:
        event = delivery.event
        if not isinstance(event, ProjectEvent):
            return  # account events have no room
        await self.ingest(event)

    async def ingest(self, event: ProjectEvent) -> str:
        event_type: str = event.type  # type: ignore[attr-defined]
        payload = encode_event(event)
        revoke = str(event.data.user_id) if isinstance(event, MemberRemoved) else None
        restore = str(event.data.user_id) if isinstance(event, MemberAdded) else None
        result = await self.store.append(
            str(event.project_id),
            event.seq,
            event_type,
            int(event.occurred_at.timestamp() * 1000),
            payload,
            revoke_user=revoke,
            restore_user=restore,
        )
        if result.status == "duplicate":
            self.metrics.ingest_duplicates.inc()
        else:
            self.metrics.events_ingested.inc()
            if result.status == "gap":
                self.metrics.ingest_gaps.inc()
                log.warning(
                    "ingest_gap",
                    project_id=str(event.project_id),
                    seq=event.seq,
                    previous=result.previous,
                )
        return result.status


def ingest_spec(queue: str, prefetch: int) -> ConsumerSpec:
    return ConsumerSpec(
        queue=queue,
        bindings=["project.#"],
        prefetch=prefetch,
        single_active=True,
        retry_in_place=True,
        # Redis may be down for a while: keep retrying in place rather than parking a room's event.
        retry_delays=(0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 10.0, 10.0, 30.0, 30.0, 60.0, 60.0, 120.0),
    )


__all__ = ["ConsumerHandle", "Ingest", "ingest_spec"]
