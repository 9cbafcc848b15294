"""Boardcast's broker seam: RabbitMQ (aio-pika) and an in-process topic bus with the same semantics."""

from boardcast_messaging.base import (
    Broker,
    ConsumerHandle,
    ConsumerSpec,
    Delivery,
    Handler,
    PermanentFailure,
    Publisher,
    PublishError,
)

__all__ = [
    "Broker",
    "ConsumerHandle",
    "ConsumerSpec",
    "Delivery",
    "Handler",
    "PermanentFailure",
    "PublishError",
    "Publisher",
]
