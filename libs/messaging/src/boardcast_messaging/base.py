"""The broker seam every service uses: what a publisher, a consumer and a broker promise, on any backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from boardcast_contracts import AccountEvent, ProjectEvent


class PublishError(Exception):
    """The broker did not take the message: nacked, returned as unroutable, timed out or not connected.

    The caller still owns the message (for tasks-api: the outbox row stays unsent and is retried).
    """


class PermanentFailure(Exception):
    """Raised by a handler for a message that can never succeed: it is parked at once, with this reason."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One decoded message handed to a handler."""

    event: ProjectEvent | AccountEvent
    routing_key: str
    redelivered: bool
    attempt: int  # 1 on first delivery, +1 per delayed retry


Handler = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A message parked in ``<queue>.parked``: its raw bytes, why it was parked, after how many attempts."""

    body: bytes
    routing_key: str
    reason: str
    attempts: int
    message_id: str | None = None


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable consumer: its queue, what it is bound to, and how failures are retried.

    - ``queue``: the durable (quorum, on RabbitMQ) queue name, shared by all replicas of the consumer.
    - ``bindings``: topic patterns on ``boardcast.events`` (``project.#``, ``project.*.task_assigned`` ...).
    - ``prefetch``: unacked messages in flight per replica.
    - ``retry_delays``: seconds before each delayed retry; after the last, the message is parked in
      ``<queue>.parked`` with the reason. Malformed or unknown messages are parked at once.
    - ``single_active``: only one replica consumes at a time (RabbitMQ single-active-consumer): order holds.
    - ``retry_in_place``: a failing message is retried where it stands, with backoff, blocking the ones behind
      it (order-preserving; used by the gateway ingest). ``retry_delays`` still bounds the attempts.
    """

    queue: str
    bindings: Sequence[str]
    prefetch: int = 32
    retry_delays: Sequence[float] = field(default=(1.0, 5.0, 30.0))
    single_active: bool = False
    retry_in_place: bool = False


class Publisher(Protocol):
    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Return once the broker confirmed the persistent, mandatory message; else raise PublishError."""
        ...

    async def publish_event(self, event: ProjectEvent | AccountEvent) -> None:
        """Encode ``event`` and publish it under its routing key with ``message_id = event_id``."""
        ...


class ConsumerHandle(Protocol):
    async def stop(self) -> None:
        """Stop taking messages, finish the one in hand, leave the rest queued (requeued)."""
        ...


class Broker(Protocol):
    async def start(self) -> None:
        """Connect and declare the exchange (robust: reconnects by itself afterwards)."""
        ...

    async def stop(self) -> None: ...

    @property
    def publisher(self) -> Publisher: ...

    async def consume(self, spec: ConsumerSpec, handler: Handler) -> ConsumerHandle:
        """Declare the queue, its bindings and its retry/parking plumbing, then consume in the background."""
        ...

    async def ready(self) -> bool:
        """True while connected and able to publish and consume (for /readyz)."""
        ...
