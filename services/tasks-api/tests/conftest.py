"""Fixtures: a migrated SQLite template copied per test; the app on the in-process bus and fakeredis."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from boardcast_contracts import AccountEvent, ProjectEvent
from boardcast_messaging import Broker, ConsumerSpec, Delivery, create_broker
from boardcast_testkit import unique
from fakeredis import FakeAsyncRedis
from tasks_api import Settings, create_app
from tasks_api.migrate import upgrade, upgrade_async

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 64}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "boardcast.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "dev",
        "database_url": database_url,
        "exchange": unique("ex"),
        "migrate_on_start": False,
        "relay_poll_seconds": 0.2,
        "web_dir": Path("/nonexistent"),
        **FAST_HASH,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Recorder:
    """Every event delivered to a queue bound to everything, in delivery order."""

    events: list[ProjectEvent | AccountEvent] = field(default_factory=list)

    async def handle(self, delivery: Delivery) -> None:
        self.events.append(delivery.event)

    def of_project(self, project_id: str | uuid.UUID) -> list[ProjectEvent]:
        return [
            e for e in self.events if isinstance(e, ProjectEvent) and str(e.project_id) == str(project_id)
        ]

    def types(self, project_id: str | uuid.UUID) -> list[str]:
        return [e.type for e in self.of_project(project_id)]  # type: ignore[attr-defined]


class Api:
    """A thin client with the calls most tests need; ``token`` headers per user."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def user(self, name: str | None = None) -> dict[str, Any]:
        name = name or unique("user")
        email = f"{name}@example.com"
        r = await self.client.post(
            "/api/auth/register", json={"email": email, "name": name, "password": "pw-12345678"}
        )
        assert r.status_code == 201, r.text
        user = r.json()
        r = await self.client.post("/api/auth/login", json={"email": email, "password": "pw-12345678"})
        assert r.status_code == 200, r.text
        user["headers"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return user

    async def project(self, owner: dict[str, Any], **members: str) -> dict[str, Any]:
        r = await self.client.post("/api/projects", json={"name": unique("p")}, headers=owner["headers"])
        assert r.status_code == 201, r.text
        return r.json()

    async def add(
        self, owner: dict[str, Any], project: dict[str, Any], user: dict[str, Any], role: str
    ) -> None:
        r = await self.client.post(
            f"/api/projects/{project['id']}/members",
            json={"user_id": user["id"], "role": role},
            headers=owner["headers"],
        )
        assert r.status_code == 201, r.text

    async def task(self, who: dict[str, Any], project: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"title": unique("t"), **fields}
        r = await self.client.post(f"/api/projects/{project['id']}/tasks", json=body, headers=who["headers"])
        assert r.status_code == 201, r.text
        return r.json()


@dataclass
class Harness:
    app: Any
    client: httpx.AsyncClient
    api: Api
    broker: Broker
    redis: FakeAsyncRedis
    recorder: Recorder
    settings: Settings


async def start_harness(
    settings: Settings, redis: Any = None, amqp_url: str | None = None
) -> AsyncIterator[Harness]:
    """The app plus a recording consumer bound to everything, declared before anything is published.

    With ``amqp_url`` the consumer uses its own RabbitMQ connection and the app builds its broker from
    ``settings.amqp_url`` (which may point at a TcpProxy); otherwise both share one in-process bus.
    """
    broker = create_broker(amqp_url, exchange=settings.exchange, service="test-consumer")
    await broker.start()
    recorder = Recorder()
    handle = await broker.consume(ConsumerSpec(queue=unique("q"), bindings=["#"]), recorder.handle)
    redis = redis if redis is not None else FakeAsyncRedis()
    app = create_app(settings, broker=None if amqp_url else broker, redis=redis)
    try:
        async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Harness(app, client, Api(client), broker, redis, recorder, settings)
    finally:
        await handle.stop()
        await broker.stop()


@pytest.fixture
async def h(sqlite_url: str) -> AsyncIterator[Harness]:
    async for harness in start_harness(make_settings(sqlite_url)):
        yield harness


@pytest.fixture
async def migrated_pg(pg_database: str) -> str:
    await upgrade_async(pg_database)
    return pg_database


@pytest.fixture
async def hpg(migrated_pg: str, amqp_url: str) -> AsyncIterator[Harness]:
    """The app on a fresh PostgreSQL database and a real RabbitMQ (unique exchange).

    ``BOARDCAST_TEST_PG_MEMORY_BUS=1`` swaps RabbitMQ for the in-process bus (PostgreSQL checks alone).
    """
    if os.environ.get("BOARDCAST_TEST_PG_MEMORY_BUS") == "1":
        async for harness in start_harness(make_settings(migrated_pg)):
            yield harness
        return
    async for harness in start_harness(make_settings(migrated_pg, amqp_url=amqp_url), amqp_url=amqp_url):
        yield harness


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.rabbitmq])]
)
def any_h(request: pytest.FixtureRequest) -> Harness:
    """Runs a test on SQLite + in-process bus, and again on PostgreSQL + RabbitMQ."""
    name = "h" if request.param == "sqlite" else "hpg"
    harness: Harness = request.getfixturevalue(name)
    return harness


async def make_admin(h: Harness, user: dict[str, Any]) -> None:
    """Promote a user the way `boardcast admin create` does (there is no API for the first admin)."""
    from tasks_api.accounts_admin import grant_admin
    from tasks_api.db.models import User

    services = h.app.state.services
    async with services.sessions() as session:
        row = await session.get(User, uuid.UUID(user["id"]))
        tx = services.tx(session)
        await grant_admin(tx, row)
        await tx.commit()


@pytest.fixture
async def h_redis_down(sqlite_url: str, free_port: Any) -> AsyncIterator[Harness]:
    """The app with a Redis client pointing at a closed port."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    dead = Redis(
        host="127.0.0.1",
        port=free_port(),
        socket_timeout=0.3,
        socket_connect_timeout=0.3,
        retry=Retry(NoBackoff(), 0),
    )
    async for harness in start_harness(make_settings(sqlite_url), redis=dead):
        yield harness
    await dead.aclose()


@pytest.fixture
def promote() -> Any:
    """``await promote(harness, user)``: make the user an admin."""
    return make_admin


@pytest.fixture
def harness() -> Any:
    """``async with harness(settings, amqp_url=...) as h:`` for tests that need a custom setup."""
    return contextlib.asynccontextmanager(start_harness)
