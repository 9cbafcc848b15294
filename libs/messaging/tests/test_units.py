"""Unit tests of the small pieces: topic matching, the URL-to-broker factory, and the shared metrics."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from boardcast_messaging import ConsumerSpec, Delivery, InMemoryBroker, PublishError, create_broker, metrics
from boardcast_messaging.topic import topic_matches
from boardcast_testkit import eventually, unique
from prometheus_client import REGISTRY

from .conftest import make_event


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("project.*.task_created", "project.p1.task_created", True),
        ("project.*.task_created", "project.p1.task_updated", False),
        ("project.*.task_created", "project.task_created", False),  # * is exactly one word
        ("project.#", "project.p1.task_created", True),
        ("project.#", "project", True),  # # may be zero words
        ("project.#", "account.admin_changed", False),
        ("#", "account.admin_changed", True),
        ("#.task_created", "project.p1.task_created", True),
        ("project.#.task_created", "project.task_created", True),
        ("project.#.task_created", "project.a.b.task_created", True),
        ("project.#.task_created", "project.a.b.task_updated", False),
        ("account.admin_changed", "account.admin_changed", True),
        ("account.admin_changed", "account.admin_changed.extra", False),
        ("*", "account", True),
        ("*", "account.x", False),
    ],
)
def test_topic_matching_follows_amqp(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_create_broker_picks_the_backend() -> None:
    assert isinstance(create_broker(None, service="t"), InMemoryBroker)
    mem = create_broker("memory://", exchange="ex1", service="t")
    assert isinstance(mem, InMemoryBroker) and mem.exchange == "ex1"
    from boardcast_messaging.rabbit import RabbitBroker

    for url in ("amqp://guest:guest@127.0.0.1:5672/", "amqps://u:p@rabbit.example:5671/vh"):
        rabbit = create_broker(url, exchange="ex2", service="notifier")
        assert isinstance(rabbit, RabbitBroker)
        assert rabbit.exchange_name == "ex2" and rabbit.service == "notifier"
    with pytest.raises(ValueError, match="unsupported broker URL"):
        create_broker("redis://127.0.0.1:6379/0", service="t")


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_each_outcome_and_survive_reimport() -> None:
    importlib.reload(metrics)  # a second import must not raise "Duplicated timeseries"
    exchange, q = unique("ex"), unique("q")
    broker = InMemoryBroker(exchange)
    await broker.start()
    InMemoryBroker(exchange)  # re-creating brokers in one process is fine too

    async def handler(d: Delivery) -> None:
        if d.event.seq == 2:  # type: ignore[union-attr]
            raise RuntimeError("no")

    await broker.consume(ConsumerSpec(q, ["project.#"], retry_delays=(0.01,)), handler)
    await broker.publisher.publish_event(make_event(seq=1))
    await broker.publisher.publish_event(make_event(seq=2))
    with pytest.raises(PublishError):
        await broker.publisher.publish_event(make_event("admin_changed"))

    async def settled() -> bool:
        return len(await broker.parked(q)) == 1

    await eventually(settled)
    assert _value("boardcast_messages_published_total", exchange=exchange) == 2
    assert _value("boardcast_publish_failures_total", exchange=exchange) == 1
    assert _value("boardcast_messages_consumed_total", queue=q) == 1
    assert _value("boardcast_messages_failed_total", queue=q) == 2
    assert _value("boardcast_messages_retried_total", queue=q) == 1
    assert _value("boardcast_messages_parked_total", queue=q) == 1
    assert _value("boardcast_message_processing_seconds_count", queue=q) == 3
    assert _value("boardcast_message_lag_seconds_count", queue=q) == 2
    await broker.stop()


async def test_memory_broker_refuses_use_before_start() -> None:
    broker: Any = InMemoryBroker(unique("ex"))
    assert not await broker.ready()
    with pytest.raises(PublishError):
        await broker.publisher.publish("account.admin_changed", b"{}", message_id="x")
    with pytest.raises(RuntimeError):
        await broker.consume(ConsumerSpec(unique("q"), ["#"]), lambda d: None)
