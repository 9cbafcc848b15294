"""Fixtures for the messaging suite: one started broker per backend, unique names, and valid sample events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from boardcast_contracts import EVENT_MODELS, AccountEvent, ProjectEvent
from boardcast_messaging import InMemoryBroker
from boardcast_testkit import unique

BACKENDS = ["memory", pytest.param("rabbit", marks=pytest.mark.rabbitmq)]


def _task(project_id: uuid.UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "project_id": project_id,
        "title": "t",
        "status": "todo",
        "position": 1.0,
        "priority": "medium",
        "version": 1,
        "created_by": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
    }


def _comment(project_id: uuid.UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(),
        "task_id": uuid.uuid4(),
        "project_id": project_id,
        "author_id": uuid.uuid4(),
        "body": "hi",
        "created_at": now,
        "updated_at": now,
    }


def _data(event_type: str, project_id: uuid.UUID) -> dict[str, Any]:
    uid = uuid.uuid4()
    task = _task(project_id)
    return {
        "task_created": {"task": task},
        "task_updated": {"task": task, "changed": ["title"]},
        "task_status_changed": {"task": task, "previous_status": "todo", "previous_position": 0.0},
        "task_assigned": {"task": task, "previous_assignee_id": None},
        "task_deleted": {"task_id": task["id"], "deleted_ids": [task["id"]], "assignee_ids": []},
        "task_restored": {"task": task, "restored_ids": [task["id"]]},
        "member_added": {"user_id": uid, "role": "editor"},
        "member_removed": {"user_id": uid},
        "member_role_changed": {"user_id": uid, "role": "viewer", "previous_role": "editor"},
        "comment_created": {"comment": _comment(project_id)},
        "comment_updated": {"comment": _comment(project_id)},
        "comment_deleted": {"comment_id": uuid.uuid4(), "task_id": task["id"]},
        "admin_changed": {"user_id": uid, "is_admin": True, "admin_ids": [uid]},
    }[event_type]


def make_event(
    event_type: str = "task_created", project_id: uuid.UUID | None = None, seq: int = 1
) -> ProjectEvent | AccountEvent:
    """A valid event of ``event_type`` (project events in ``project_id``, a fresh one if None)."""
    model = EVENT_MODELS[event_type]
    project_id = project_id or uuid.uuid4()
    fields: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "actor_id": uuid.uuid4(),
        "data": _data(event_type, project_id),
    }
    if model.scope == "project":
        fields |= {"project_id": project_id, "seq": seq}
    return model.model_validate(fields)


@pytest.fixture
def event_factory() -> Callable[..., ProjectEvent | AccountEvent]:
    return make_event


@pytest.fixture
def exchange() -> str:
    return unique("bc-test-ex")


@pytest.fixture
def queue_name() -> Callable[[str], str]:
    return lambda label="q": unique(f"bc-test-{label}")


class BrokerFactory:
    """Started brokers of one backend on one exchange; ``close()`` stops them and deletes their queues."""

    def __init__(self, backend: str, exchange: str, amqp_url: str) -> None:
        self.backend = backend
        self.exchange = exchange
        self.amqp_url = amqp_url
        self.made: list[Any] = []

    async def __call__(self, url: str | None = None, **kw: Any) -> Any:
        if self.backend == "memory":
            broker: Any = InMemoryBroker(self.exchange, **kw)
        else:
            from boardcast_messaging.rabbit import RabbitBroker

            broker = RabbitBroker(
                url or self.amqp_url, exchange=self.exchange, service="messaging-tests", **kw
            )
        await broker.start()
        self.made.append(broker)
        return broker

    async def close(self) -> None:
        for broker in self.made:
            await broker.stop()
        if self.backend == "rabbit":
            from boardcast_messaging.rabbit import delete_topology

            queues: set[str] = set()
            for broker in self.made:
                queues |= broker.declared_queues
            await delete_topology(self.amqp_url, self.exchange, queues)


@pytest.fixture(params=BACKENDS)
async def make_broker(request: pytest.FixtureRequest, exchange: str, amqp_url: str) -> AsyncIterator[Any]:
    """A factory of started brokers of each backend on this test's exchange; cleaned up after."""
    factory = BrokerFactory(request.param, exchange, amqp_url)
    yield factory
    await factory.close()


@pytest.fixture
async def make_rabbit(exchange: str, amqp_url: str) -> AsyncIterator[Any]:
    """Like ``make_broker``, RabbitMQ only (for tests of what only a network broker can do)."""
    factory = BrokerFactory("rabbit", exchange, amqp_url)
    yield factory
    await factory.close()
