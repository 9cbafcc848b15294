"""The RabbitMQ broker: a robust connection, a confirmed mandatory publisher, and supervised consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from boardcast_contracts import EXCHANGE

from boardcast_messaging import metrics, rabbit_admin
from boardcast_messaging.base import (
    ConsumerHandle,
    ConsumerSpec,
    Handler,
    ParkedMessage,
    Publisher,
    PublishError,
)
from boardcast_messaging.publishing import EventPublishing
from boardcast_messaging.rabbit_consumer import RabbitConsumer, quietly, topology_queues

log = structlog.get_logger("boardcast.messaging")


class RabbitBroker(EventPublishing):
    """Broker and Publisher over one robust AMQP connection: one confirmed channel for publishing, one channel
    per consumer. A watchdog re-creates any consumer whose channel did not come back after a reconnect."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = EXCHANGE,
        service: str,
        confirm_timeout: float = 10.0,
        grace: float = 30.0,
        watchdog_interval: float = 1.0,
        start_timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.start_timeout = start_timeout
        self.exchange_name = exchange
        self.service = service
        self.confirm_timeout = confirm_timeout
        self.grace = grace
        self.watchdog_interval = watchdog_interval
        self.declared_queues: set[str] = set()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: set[RabbitConsumer] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._suspects: dict[object, int] = {}

    # ---- lifecycle ----

    async def start(self) -> None:
        self._connection = await self._connect_with_retries()
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._watchdog = asyncio.create_task(self._watch(), name=f"broker-watchdog:{self.service}")

    async def _connect_with_retries(self) -> AbstractRobustConnection:
        """Connect, retrying with backoff for up to ``start_timeout`` s: a broker that is still starting (or
        briefly overloaded) delays a service's start instead of failing it; past the deadline the last error
        is raised so the process exits with it."""
        # A short heartbeat so that a silently dead peer (no RST) is noticed in seconds, not minutes.
        extra: dict[str, Any] = {} if "heartbeat=" in self.url else {"heartbeat": 10}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        delay = 0.5
        while True:
            try:
                return await aio_pika.connect_robust(
                    self.url,
                    client_properties={"connection_name": f"boardcast-{self.service}"},
                    reconnect_interval=1.0,
                    timeout=10,
                    **extra,
                )
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
                if loop.time() + delay > deadline:
                    raise
                log.warning("broker_connect_retry", service=self.service, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        await asyncio.gather(*(c.stop() for c in list(self._consumers)), return_exceptions=True)
        if self._connection is not None:
            await quietly(self._connection.close())
        self._connection = self._channel = self._exchange = None

    async def ready(self) -> bool:
        conn, channel = self._connection, self._channel
        return bool(
            conn is not None
            and conn.connected.is_set()
            and not conn.is_closed
            and channel is not None
            and not channel.is_closed
            and all(c.consuming for c in self._consumers)
        )

    @property
    def publisher(self) -> Publisher:
        return self

    # ---- publishing ----

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        exchange, conn = self._exchange, self._connection
        try:
            if exchange is None or conn is None or not conn.connected.is_set():
                raise PublishError("not connected to RabbitMQ")
            message = aio_pika.Message(
                bytes(body),
                headers=dict(headers or {}),
                content_type="application/json",
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                app_id=self.service,
            )
            await exchange.publish(message, routing_key, mandatory=True, timeout=self.confirm_timeout)
        except PublishError:
            metrics.PUBLISH_FAILURES.labels(self.exchange_name).inc()
            raise
        except aio_pika.exceptions.PublishError as exc:
            metrics.PUBLISH_FAILURES.labels(self.exchange_name).inc()
            raise PublishError(f"unroutable: no queue is bound for {routing_key!r}") from exc
        except aio_pika.exceptions.DeliveryError as exc:
            metrics.PUBLISH_FAILURES.labels(self.exchange_name).inc()
            raise PublishError(f"broker refused (nack) {message_id}") from exc
        except TimeoutError as exc:
            metrics.PUBLISH_FAILURES.labels(self.exchange_name).inc()
            raise PublishError(f"no confirm within {self.confirm_timeout}s for {message_id}") from exc
        except Exception as exc:
            # Connection or channel trouble of any kind: the caller keeps the message and tries again.
            metrics.PUBLISH_FAILURES.labels(self.exchange_name).inc()
            raise PublishError(f"publish failed: {exc!r}") from exc
        metrics.PUBLISHED.labels(self.exchange_name).inc()

    # ---- consuming ----

    async def consume(self, spec: ConsumerSpec, handler: Handler) -> ConsumerHandle:
        if self._connection is None:
            raise RuntimeError("RabbitBroker.consume() before start()")
        consumer = RabbitConsumer(spec, handler, self.exchange_name, self.grace)
        consumer.on_stopped.append(self._forget)
        self.declared_queues.update(topology_queues(spec))
        await consumer.start(self._connection)
        self._consumers.add(consumer)
        return consumer

    def _forget(self, consumer: RabbitConsumer) -> None:
        self._consumers.discard(consumer)
        self._suspects.pop(consumer, None)

    async def _watch(self) -> None:
        """Supervise what aio-pika's robust recovery is meant to do (it has known gaps): once connected,
        every consumer must be consuming and the publishing channel open; else rebuild the missing piece."""
        while True:
            await asyncio.sleep(self.watchdog_interval)
            conn = self._connection
            if conn is None or not conn.connected.is_set() or conn.is_closed:
                continue
            try:
                if self._broken(self, self._channel is None or self._channel.is_closed):
                    log.warning("publisher_channel_rebuilt", service=self.service)
                    self._channel = await conn.channel(publisher_confirms=True, on_return_raises=True)
                    self._exchange = await self._channel.declare_exchange(
                        self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                    )
                for consumer in list(self._consumers):
                    if self._broken(consumer, not consumer.consuming and not consumer.stopping):
                        log.warning("consumer_rebuilt", queue=consumer.spec.queue, service=self.service)
                        await consumer.restart(conn)
            except Exception as exc:
                log.warning("watchdog_repair_failed", service=self.service, reason=repr(exc))

    def _broken(self, what: object, broken_now: bool, ticks: int = 3) -> bool:
        """True once ``what`` has looked broken for ``ticks`` checks in a row while connected: robust recovery
        gets its chance first, and the watchdog only repairs what it left undone."""
        count = self._suspects.get(what, 0) + 1 if broken_now else 0
        if count >= ticks:
            count = 0
        self._suspects[what] = count
        return broken_now and count == 0

    # ---- inspection and repair (tests, operators) ----

    def _conn(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("RabbitBroker not started")
        return self._connection

    async def parked(self, queue: str) -> list[ParkedMessage]:
        """The messages parked for ``queue``, oldest first, left in place."""
        return await rabbit_admin.parked(self._conn(), queue)

    async def replay_parked(self, queue: str) -> int:
        """Move every message parked for ``queue`` back onto it as a first attempt; returns how many."""
        return await rabbit_admin.replay_parked(self._conn(), queue, self.confirm_timeout)

    async def queue_depth(self, queue: str) -> int:
        """Messages ready in ``queue`` (not delivered to a consumer right now)."""
        return await rabbit_admin.queue_depth(self._conn(), queue)


delete_topology = rabbit_admin.delete_topology
