"""Pick the broker for a URL: the in-process bus for none / ``memory://``, RabbitMQ for ``amqp(s)://``."""

from __future__ import annotations

from boardcast_contracts import EXCHANGE

from boardcast_messaging.base import Broker


def create_broker(url: str | None, *, exchange: str = EXCHANGE, service: str) -> Broker:
    """Build (not start) the broker ``url`` names; ``service`` names the connection in RabbitMQ's UI."""
    if url is None or url in ("", "memory://", "memory:"):
        from boardcast_messaging.memory import InMemoryBroker

        return InMemoryBroker(exchange)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("amqp", "amqps"):
        from boardcast_messaging.rabbit import RabbitBroker

        return RabbitBroker(url, exchange=exchange, service=service)
    raise ValueError(
        f"unsupported broker URL scheme {scheme or url!r}: expected amqp://, amqps:// or memory://"
    )
