"""Live push to the gateway: ready-to-send JSON frames on each user's Redis channel, after the DB commit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from boardcast_contracts.keys import user_channel
from redis.asyncio import Redis

from notifier.models import Addressed, notification_frame, unread_count_frame


class Pusher:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def push(self, items: Sequence[Addressed], unread_counts: Mapping[uuid.UUID, int]) -> None:
        """Each notification to its user, then each user's new unread count; one round trip, no transaction.

        Raises the Redis error, so the consumer retries and the pushed mark stays unset.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in items:
                pipe.publish(user_channel(item.user_id), _encode(notification_frame(item.notification)))
            for user_id, count in unread_counts.items():
                pipe.publish(user_channel(user_id), _encode(unread_count_frame(count)))
            await pipe.execute()

    async def push_unread_count(self, user_id: uuid.UUID, count: int) -> None:
        await self._redis.publish(user_channel(user_id), _encode(unread_count_frame(count)))


def _encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
