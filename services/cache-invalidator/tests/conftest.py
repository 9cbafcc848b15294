"""cache-invalidator test support: a primed cache of two projects, event builders, and the running app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from boardcast_contracts import TaskAssigned, TaskDeleted, TaskRestored, TaskStatusChanged, TaskUpdated
from boardcast_contracts.keys import heatmap_key, workload_key
from boardcast_messaging import Broker
from cache_invalidator import Settings, create_app
from fastapi import FastAPI
from redis.asyncio import Redis


def cached_keys(project_id: uuid.UUID, user_id: uuid.UUID) -> set[str]:
    """Every cache entry the scheme keeps for one user in one project (plus their all-projects workload)."""
    return {workload_key(project_id, user_id), workload_key(None, user_id), heatmap_key(project_id, user_id)}


async def prime(redis: Redis, keys: set[str]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hset(key, "2026-11-23", '{"open_tasks": 3}')
        await pipe.execute()


async def present(redis: Redis, keys: set[str]) -> set[str]:
    ordered = sorted(keys)
    exists = [await redis.exists(k) for k in ordered]
    return {k for k, e in zip(ordered, exists, strict=True) if e}


def consumed(queue: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("boardcast_messages_consumed_total", {"queue": queue}) or 0.0


@dataclass
class Project:
    """Builds task events of one project with a running seq."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0

    def _env(self, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {
            "event_id": uuid.uuid4(),
            "project_id": self.id,
            "seq": self.seq,
            "occurred_at": datetime.now(UTC),
            "actor_id": uuid.uuid4(),
            "data": data,
        }

    def task(self, **kw: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "id": uuid.uuid4(),
            "project_id": self.id,
            "title": "t",
            "status": "todo",
            "position": 1.0,
            "priority": "medium",
            "version": 2,
            "created_by": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
        } | kw

    def assigned(self, new: uuid.UUID | None, old: uuid.UUID | None) -> TaskAssigned:
        return TaskAssigned.model_validate(
            self._env({"task": self.task(assignee_id=new), "previous_assignee_id": old})
        )

    def status(self, assignee: uuid.UUID, before: str, after: str) -> TaskStatusChanged:
        task = self.task(assignee_id=assignee, status=after)
        return TaskStatusChanged.model_validate(
            self._env({"task": task, "previous_status": before, "previous_position": 1.0})
        )

    def updated(self, assignee: uuid.UUID, changed: list[str]) -> TaskUpdated:
        return TaskUpdated.model_validate(
            self._env({"task": self.task(assignee_id=assignee), "changed": changed})
        )

    def deleted(self, assignees: list[uuid.UUID]) -> TaskDeleted:
        root = uuid.uuid4()
        ids = [root, *(uuid.uuid4() for _ in assignees)]
        return TaskDeleted.model_validate(
            self._env({"task_id": root, "deleted_ids": ids, "assignee_ids": assignees})
        )

    def restored(self, root_assignee: uuid.UUID | None, assignees: list[uuid.UUID]) -> TaskRestored:
        task = self.task(assignee_id=root_assignee)
        return TaskRestored.model_validate(
            self._env({"task": task, "restored_ids": [task["id"]], "assignee_ids": assignees})
        )


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    manager: LifespanManager
    stopped: bool = False

    async def stop(self) -> None:
        """Shut the app down now (before cutting what it is connected to); the fixture's teardown skips it."""
        await self.client.aclose()
        if not self.stopped:
            self.stopped = True
            await self.manager.__aexit__(None, None, None)


@pytest.fixture(autouse=True, scope="session")
def _plain_tracebacks() -> None:
    """structlog's default console renderer draws failures with rich, locals and all: seconds per traceback on
    this machine, which would slow every retry under test. Plain tracebacks say the same, at once."""
    import structlog

    structlog.configure(
        processors=[
            # The configuration is process-wide: keep what other packages' tests rely on (bound context).
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S"),
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ]
    )


@pytest.fixture
async def run_app() -> AsyncIterator[Callable[..., Any]]:
    started: list[Running] = []

    async def start(
        *, queue: str, broker: Broker | None = None, redis: Redis | None = None, **env: Any
    ) -> Running:
        settings = Settings(cache_invalidator_queue=queue, **({"env": "dev"} | env))
        app = create_app(settings, broker=broker, redis=redis)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://ci")
        started.append(Running(app, client, settings, manager))
        return started[-1]

    yield start
    for running in reversed(started):
        await running.stop()
