"""Operator and test helpers on RabbitMQ: read parked messages, replay them, queue depth, delete topology."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import aio_pika
import structlog
from aio_pika.abc import AbstractConnection

from boardcast_messaging.base import ParkedMessage
from boardcast_messaging.rabbit_consumer import (
    ATTEMPT,
    ATTEMPTS,
    PARKED_REASON,
    forwardable_headers,
    parked_queue,
    quietly,
    to_parked,
)

log = structlog.get_logger("boardcast.messaging")

# Headers of a parked copy that must not follow it back: the retry count restarts, the verdict is void.
REPLAY_DROPS = frozenset({ATTEMPT, ATTEMPTS, PARKED_REASON, "x-parked-at", "x-source-queue"})


async def parked(connection: AbstractConnection, queue: str) -> list[ParkedMessage]:
    """Read every message of ``<queue>.parked`` without removing it (got unacked, requeued on close)."""
    channel = await connection.channel()
    try:
        q = await channel.declare_queue(parked_queue(queue), passive=True)
        seen = []
        while (message := await q.get(no_ack=False, fail=False)) is not None:
            seen.append(to_parked(message))
        return seen
    finally:
        await quietly(channel.close())


async def replay_parked(connection: AbstractConnection, queue: str, confirm_timeout: float = 10.0) -> int:
    """Move the messages of ``<queue>.parked`` back onto ``queue`` as first attempts; returns how many.

    Each is re-published with a confirm before its parked copy is acked: a crash midway only duplicates.
    """
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    moved = 0
    try:
        source = await channel.declare_queue(parked_queue(queue), passive=True)
        # Only what was parked when we started: one that fails again and is re-parked is not looped on.
        for _ in range(int(source.declaration_result.message_count or 0)):
            message = await source.get(no_ack=False, fail=False)
            if message is None:
                break
            copy = aio_pika.Message(
                bytes(message.body),
                headers={k: v for k, v in forwardable_headers(message).items() if k not in REPLAY_DROPS},
                content_type=message.content_type,
                message_id=message.message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(copy, queue, mandatory=True, timeout=confirm_timeout)
            await message.ack()
            moved += 1
    finally:
        await quietly(channel.close())
    log.info("parked_replayed", queue=queue, count=moved)
    return moved


async def queue_depth(connection: AbstractConnection, queue: str) -> int:
    """Messages ready in ``queue`` (delivered-but-unacked ones are not counted)."""
    channel = await connection.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await quietly(channel.close())


async def delete_topology(url: str, exchange: str, queues: Iterable[str]) -> None:
    """Delete ``queues`` and ``exchange`` (test cleanup)."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for name in queues:
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        with contextlib.suppress(Exception):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()
