"""What both publishers share: turning an event into its bytes, routing key and message id."""

from __future__ import annotations

from collections.abc import Mapping

from boardcast_contracts import AccountEvent, ProjectEvent, encode_event, routing_key_for


class EventPublishing:
    """Mixin: ``publish_event`` on top of the backend's ``publish``."""

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        raise NotImplementedError

    async def publish_event(self, event: ProjectEvent | AccountEvent) -> None:
        await self.publish(routing_key_for(event), encode_event(event), message_id=str(event.event_id))
