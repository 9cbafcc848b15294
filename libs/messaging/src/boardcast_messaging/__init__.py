"""Boardcast's broker seam: RabbitMQ (aio-pika) and an in-process topic bus with the same semantics."""

from boardcast_messaging.base import (
    Broker,
    ConsumerHandle,
    ConsumerSpec,
    Delivery,
    Handler,
    ParkedMessage,
    PermanentFailure,
    Publisher,
    PublishError,
)
from boardcast_messaging.factory import create_broker
from boardcast_messaging.memory import InMemoryBroker

__all__ = [
    "Broker",
    "ConsumerHandle",
    "ConsumerSpec",
    "Delivery",
    "Handler",
    "InMemoryBroker",
    "ParkedMessage",
    "PermanentFailure",
    "PublishError",
    "Publisher",
    "create_broker",
]
