"""The in-process topic bus of dev mode: RabbitMQ's semantics (topic routing, durable shared queues, acks
after success, delayed retries, parking, mandatory publishing) without a server.
Messages travel as the encoded bytes and are decoded in the consumer path, as on RabbitMQ.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import structlog
from boardcast_contracts import EXCHANGE

from boardcast_messaging import metrics
from boardcast_messaging.base import (
    ConsumerHandle,
    ConsumerSpec,
    Handler,
    ParkedMessage,
    Publisher,
    PublishError,
)
from boardcast_messaging.publishing import EventPublishing
from boardcast_messaging.runner import Ack, Park, Requeue, Retry, process
from boardcast_messaging.topic import topic_matches

log = structlog.get_logger("boardcast.messaging")


@dataclass(frozen=True, slots=True)
class _Message:
    body: bytes
    routing_key: str
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)
    attempt: int = 1
    redelivered: bool = False


class _Queue:
    """A durable named queue: it outlives its consumers, and every consumer of the name competes for it."""

    def __init__(self, name: str, single_active: bool) -> None:
        self.name = name
        self.single_active = single_active
        self.bindings: set[str] = set()
        self.ready: deque[_Message] = deque()
        self.parked: list[ParkedMessage] = []
        self.consumers: list[_Consumer] = []
        self.changed = asyncio.Condition()

    def routes(self, routing_key: str) -> bool:
        return any(topic_matches(p, routing_key) for p in self.bindings)

    async def put(self, message: _Message, *, front: bool = False) -> None:
        async with self.changed:
            (self.ready.appendleft if front else self.ready.append)(message)
            self.changed.notify_all()

    async def poke(self) -> None:
        async with self.changed:
            self.changed.notify_all()


class _Consumer:
    """One ``consume()`` call: a worker taking messages while it has a free slot (its prefetch window)."""

    def __init__(self, broker: InMemoryBroker, queue: _Queue, spec: ConsumerSpec, handler: Handler) -> None:
        self._broker = broker
        self._queue = queue
        self._spec = spec
        self._handler = handler
        # Ordered consumers handle one message at a time so that order holds; others up to the prefetch.
        ordered = spec.retry_in_place or queue.single_active
        self._slots = 1 if ordered else max(1, spec.prefetch)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._worker = asyncio.create_task(self._run(), name=f"consume:{spec.queue}")

    def _can_take(self) -> bool:
        q = self._queue
        active = not q.single_active or (bool(q.consumers) and q.consumers[0] is self)
        return active and bool(q.ready) and len(self._in_flight) < self._slots

    async def _run(self) -> None:
        q = self._queue
        while True:
            async with q.changed:
                await q.changed.wait_for(lambda: self._stopping.is_set() or self._can_take())
                if self._stopping.is_set():
                    return
                message = q.ready.popleft()
            task = asyncio.create_task(self._handle(message))
            self._in_flight.add(task)

    async def _handle(self, message: _Message) -> None:
        q = self._queue
        try:
            outcome = await process(
                self._spec,
                self._handler,
                message.body,
                message.routing_key,
                redelivered=message.redelivered,
                attempt=message.attempt,
                stopping=self._stopping,
            )
        except asyncio.CancelledError:
            # Stopped past the grace period: the message was never acked, so it goes back (as RabbitMQ would).
            outcome = Requeue()
        except Exception:
            log.exception("consumer_internal_error", queue=q.name, message_id=message.message_id)
            outcome = Requeue()
        if isinstance(outcome, Retry):
            self._broker._schedule(
                q, replace(message, attempt=outcome.next_attempt, redelivered=False), outcome
            )
        elif isinstance(outcome, Park):
            q.parked.append(
                ParkedMessage(
                    message.body, message.routing_key, outcome.reason, outcome.attempts, message.message_id
                )
            )
        elif isinstance(outcome, Requeue):
            q.ready.appendleft(replace(message, redelivered=True))
        else:
            assert isinstance(outcome, Ack)
        self._in_flight.discard(asyncio.current_task())
        await q.poke()

    async def stop(self) -> None:
        """Stop taking messages, let the ones in hand finish (within the grace period), leave the rest."""
        if self._stopping.is_set():
            await self._worker
            return
        self._stopping.set()
        await self._queue.poke()
        await self._worker
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=self._broker.grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        with contextlib.suppress(ValueError):
            self._queue.consumers.remove(self)
        await self._queue.poke()  # a waiting single-active consumer takes over
        self._broker._consumers.discard(self)


class InMemoryBroker(EventPublishing):
    """Broker, Publisher and ConsumerHandle factory in one object, living in this process only."""

    def __init__(self, exchange: str = EXCHANGE, *, grace: float = 30.0) -> None:
        self.exchange = exchange
        self.grace = grace
        self._queues: dict[str, _Queue] = {}
        self._consumers: set[_Consumer] = set()
        self._timers: set[asyncio.Task[None]] = set()
        self._running = False

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*(c.stop() for c in list(self._consumers)))
        for timer in list(self._timers):
            timer.cancel()

    @property
    def publisher(self) -> Publisher:
        return self

    async def ready(self) -> bool:
        return self._running

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not self._running:
            metrics.PUBLISH_FAILURES.labels(self.exchange).inc()
            raise PublishError("in-process broker is not started")
        targets = [q for q in self._queues.values() if q.routes(routing_key)]
        if not targets:
            # Mandatory semantics: a message no queue is bound for is refused, never silently dropped.
            metrics.PUBLISH_FAILURES.labels(self.exchange).inc()
            raise PublishError(f"unroutable: no queue is bound for {routing_key!r} on {self.exchange!r}")
        message = _Message(bytes(body), routing_key, message_id, dict(headers or {}))
        for q in targets:
            await q.put(message)
        metrics.PUBLISHED.labels(self.exchange).inc()

    async def consume(self, spec: ConsumerSpec, handler: Handler) -> ConsumerHandle:
        if not self._running:
            raise RuntimeError("InMemoryBroker.consume() before start()")
        queue = self._queues.get(spec.queue)
        if queue is None:
            queue = self._queues[spec.queue] = _Queue(spec.queue, spec.single_active)
        elif queue.single_active != spec.single_active:
            # RabbitMQ refuses to re-declare a queue with other arguments; so does the in-process bus.
            raise ValueError(f"queue {spec.queue!r} exists with other arguments (single_active)")
        queue.bindings.update(spec.bindings)
        consumer = _Consumer(self, queue, spec, handler)
        queue.consumers.append(consumer)
        self._consumers.add(consumer)
        await queue.poke()
        return consumer

    def _schedule(self, queue: _Queue, message: _Message, retry: Retry) -> None:
        async def later() -> None:
            await asyncio.sleep(retry.delay)
            await queue.put(message)

        timer = asyncio.create_task(later())
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    # ---- inspection (tests, dev tooling) ----

    async def parked(self, queue: str) -> list[ParkedMessage]:
        """The messages parked for ``queue``, oldest first (not removed)."""
        q = self._queues.get(queue)
        return list(q.parked) if q else []

    async def replay_parked(self, queue: str) -> int:
        """Move every message parked for ``queue`` back onto it as a first attempt; returns how many."""
        q = self._queues.get(queue)
        if q is None:
            return 0
        parked, q.parked = q.parked, []
        for p in parked:
            await q.put(_Message(p.body, p.routing_key, p.message_id or ""))
        return len(parked)

    async def queue_depth(self, queue: str) -> int:
        """Messages ready in ``queue`` (not in a handler's hands, not waiting for a retry)."""
        q = self._queues.get(queue)
        return len(q.ready) if q else 0
