"""The RabbitMQ consumer runner: a channel per consumer, its queue topology, and the outcome of each message.

Topology per ``ConsumerSpec.queue`` (all durable quorum queues):

- ``<queue>``: bound to the spec's patterns on the exchange; ``x-single-active-consumer`` when asked.
- ``<queue>.retry.<n>`` (n = 1..len(retry_delays)): no consumer; ``x-message-ttl`` = the n-th delay, then
  dead-lettered through the default exchange back to ``<queue>``. This is how a delayed retry waits.
- ``<queue>.parked``: messages that gave up, with headers ``x-parked-reason``, ``x-attempts``,
  ``x-original-routing-key``, ``x-source-queue``, ``x-parked-at``.

The retry or park copy is published with a publisher confirm BEFORE the original is acked, so a crash in
between can only duplicate, never lose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelInvalidStateError, ChannelPreconditionFailed

from boardcast_messaging.base import ConsumerSpec, Handler, ParkedMessage
from boardcast_messaging.runner import Ack, Outcome, Park, Requeue, Retry, process

if TYPE_CHECKING:
    from aio_pika.abc import AbstractRobustConnection

log = structlog.get_logger("boardcast.messaging")

ATTEMPT = "x-attempt"
ORIGINAL_KEY = "x-original-routing-key"
PARKED_REASON = "x-parked-reason"
ATTEMPTS = "x-attempts"
QUORUM = {"x-queue-type": "quorum"}
DEATH_PREFIXES = ("x-death", "x-first-death-", "x-last-death-")


async def quietly(step: Awaitable[Any], timeout: float = 5.0) -> None:
    """Best-effort teardown step: bounded in time (robust objects wait for a reconnect that may never come)
    and silent on failure (a dead channel already released what it held)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(step, timeout)


def retry_queue(queue: str, n: int) -> str:
    return f"{queue}.retry.{n}"


def parked_queue(queue: str) -> str:
    return f"{queue}.parked"


def topology_queues(spec: ConsumerSpec) -> list[str]:
    """Every queue a spec declares (for cleanup and inspection)."""
    count = 0 if spec.retry_in_place else len(spec.retry_delays)
    retries = [retry_queue(spec.queue, n) for n in range(1, count + 1)]
    return [spec.queue, *retries, parked_queue(spec.queue)]


def forwardable_headers(message: AbstractIncomingMessage) -> dict[str, Any]:
    """The message's headers minus the dead-letter history RabbitMQ adds (it would only grow per retry)."""
    return {k: v for k, v in (message.headers or {}).items() if not k.startswith(DEATH_PREFIXES)}


def _header(message: AbstractIncomingMessage, name: str) -> Any:
    return (message.headers or {}).get(name)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


def to_parked(message: AbstractIncomingMessage) -> ParkedMessage:
    return ParkedMessage(
        body=bytes(message.body),
        routing_key=_text(_header(message, ORIGINAL_KEY) or message.routing_key or ""),
        reason=_text(_header(message, PARKED_REASON) or ""),
        attempts=int(_header(message, ATTEMPTS) or 0),
        message_id=message.message_id,
    )


class RabbitConsumer:
    """A ``consume()`` call on RabbitMQ. Deliveries go through a local buffer to worker tasks: one worker when
    order matters (``single_active`` / ``retry_in_place``), else ``prefetch`` workers."""

    def __init__(self, spec: ConsumerSpec, handler: Handler, exchange: str, grace: float) -> None:
        self.spec = spec
        self._handler = handler
        self._exchange = exchange
        self._grace = grace
        self._buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self.on_stopped: list[Any] = []

    async def start(self, connection: AbstractRobustConnection) -> None:
        try:
            await self._open(connection)
        except ChannelPreconditionFailed as exc:
            await self._abandon()
            raise ValueError(f"queue {self.spec.queue!r} exists with other arguments: {exc}") from exc
        except BaseException:
            await self._abandon()
            raise
        ordered = self.spec.single_active or self.spec.retry_in_place
        for i in range(1 if ordered else max(1, self.spec.prefetch)):
            self._workers.append(asyncio.create_task(self._work(), name=f"consume:{self.spec.queue}:{i}"))

    async def _abandon(self) -> None:
        # Close it ourselves: a robust channel left behind would keep "restoring" a declaration that fails.
        if self._channel is not None:
            await quietly(self._channel.close())
        self._channel, self._tag = None, None

    async def restart(self, connection: AbstractRobustConnection) -> None:
        """Open a fresh channel and subscribe again (the watchdog's repair when recovery left us idle)."""
        if self._channel is not None:
            await quietly(self._channel.close())
        self._tag = None
        await self._open(connection)

    async def _open(self, connection: AbstractRobustConnection) -> None:
        spec = self.spec
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = channel
        await channel.set_qos(prefetch_count=max(1, spec.prefetch))
        exchange = await channel.declare_exchange(self._exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        args: dict[str, Any] = dict(QUORUM)
        if spec.single_active:
            args["x-single-active-consumer"] = True
        queue = await channel.declare_queue(spec.queue, durable=True, arguments=args)
        for pattern in spec.bindings:
            await queue.bind(exchange, pattern)
        if not spec.retry_in_place:
            for n, delay in enumerate(spec.retry_delays, start=1):
                retry_args = {
                    **QUORUM,
                    "x-message-ttl": max(1, int(delay * 1000)),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": spec.queue,
                }
                await channel.declare_queue(retry_queue(spec.queue, n), durable=True, arguments=retry_args)
        await channel.declare_queue(parked_queue(spec.queue), durable=True, arguments=dict(QUORUM))
        self._queue = queue
        self._tag = await queue.consume(self._buffer.put)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def consuming(self) -> bool:
        """True while our subscription is live on an open channel.

        Also false after a broker-side ``basic.cancel`` (queue deleted, quorum leader lost): aio-pika's
        recovery does not handle those (mosquito/aio-pika#334), so the watchdog must see them.
        """
        channel, tag = self._channel, self._tag
        if channel is None or channel.is_closed or tag is None:
            return False
        underlay = getattr(channel, "_channel", None)  # aio-pika keeps the live aiormq channel here
        if underlay is None:
            return False
        try:
            return tag in underlay.channel.consumers
        except AttributeError:  # a future aio-pika moved it: fall back to what we could check
            return True

    async def _work(self) -> None:
        while not self._stopping.is_set():
            message = await self._buffer.get()
            if self._stopping.is_set():
                return  # left unacked: requeued when the channel closes
            try:
                message.channel  # noqa: B018 - raises when the delivering channel is gone
            except ChannelInvalidStateError:
                continue  # delivered on a channel that died: RabbitMQ has already requeued it
            try:
                await self._handle(message)
            except Exception as exc:
                # A bug here must not cost a worker (or hold a prefetch slot forever): hand the message back.
                log.exception("consumer_internal_error", queue=self.spec.queue, reason=repr(exc))
                await quietly(message.reject(requeue=True))

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        spec = self.spec
        routing_key = _text(_header(message, ORIGINAL_KEY) or message.routing_key or "")
        try:
            attempt = max(1, int(_header(message, ATTEMPT) or 1))
        except (TypeError, ValueError):
            attempt = 1
        outcome: Outcome = await process(
            spec,
            self._handler,
            bytes(message.body),
            routing_key,
            redelivered=bool(message.redelivered),
            attempt=attempt,
            stopping=self._stopping,
        )
        try:
            if isinstance(outcome, Ack):
                await message.ack()
            elif isinstance(outcome, Requeue):
                await message.reject(requeue=True)
            else:
                await self._forward(message, routing_key, outcome)
                await message.ack()
        except Exception as exc:
            # The channel died under us (or the forward was refused): the message stays unacked, so RabbitMQ
            # delivers it again. At-least-once; never dropped.
            log.warning(
                "settle_failed",
                queue=spec.queue,
                message_id=message.message_id,
                outcome=type(outcome).__name__,
                reason=repr(exc),
            )
            await asyncio.sleep(1.0)  # a refused forward would otherwise spin on instant redelivery
            await quietly(message.reject(requeue=True))

    async def _forward(
        self, message: AbstractIncomingMessage, routing_key: str, outcome: Retry | Park
    ) -> None:
        assert self._channel is not None
        headers = forwardable_headers(message)
        headers[ORIGINAL_KEY] = routing_key
        if isinstance(outcome, Retry):
            target = retry_queue(self.spec.queue, outcome.next_attempt - 1)
            headers[ATTEMPT] = outcome.next_attempt
        else:
            target = parked_queue(self.spec.queue)
            headers.update(
                {
                    PARKED_REASON: outcome.reason,
                    ATTEMPTS: outcome.attempts,
                    "x-source-queue": self.spec.queue,
                    "x-parked-at": datetime.now(UTC).isoformat(),
                }
            )
        copy = aio_pika.Message(
            bytes(message.body),
            headers=headers,
            content_type=message.content_type or "application/json",
            message_id=message.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._channel.default_exchange.publish(copy, target, mandatory=True, timeout=10)

    async def stop(self) -> None:
        """Cancel the subscription, let handlers in hand finish (within the grace period), then close the
        channel so that everything delivered but not handled goes back to the queue."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._queue is not None and self._tag is not None:
            await quietly(self._queue.cancel(self._tag))
        live = [w for w in self._workers if not w.done()]
        for _ in live:
            self._buffer.put_nowait(None)  # type: ignore[arg-type]  # wakes the idle ones to leave
        if live:
            _, late = await asyncio.wait(live, timeout=self._grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._channel is not None:
            await quietly(self._channel.close())
        for callback in self.on_stopped:
            callback(self)
