"""Notifier test support: event builders, a JWT minter, and the app wired to in-process or real adapters."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager
from boardcast_contracts import (
    AdminChanged,
    CommentCreated,
    CommentUpdated,
    MemberAdded,
    TaskAssigned,
    TaskCreated,
    TaskDeleted,
    TaskStatusChanged,
)
from boardcast_messaging import Broker
from fastapi import FastAPI
from notifier import Settings, create_app
from redis.asyncio import Redis

SECRET = "notifier-tests-secret-0123456789-abcdefghijkl"


def token(user_id: uuid.UUID, *, secret: str = SECRET, ttl: int = 600, **extra: Any) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + ttl, "name": "Tester", **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


def auth(user_id: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Board:
    """One project with a running seq, building well-formed events of SPEC §4."""

    project_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0

    def _env(self, actor: uuid.UUID) -> dict[str, Any]:
        self.seq += 1
        return {
            "event_id": uuid.uuid4(),
            "project_id": self.project_id,
            "seq": self.seq,
            "occurred_at": _now(),
            "actor_id": actor,
        }

    def task(self, **kw: Any) -> dict[str, Any]:
        now = _now()
        base = {
            "id": uuid.uuid4(),
            "project_id": self.project_id,
            "title": "Write the spec",
            "status": "todo",
            "position": 1.0,
            "priority": "medium",
            "version": 1,
            "created_by": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
        }
        return base | kw

    def created(self, actor: uuid.UUID, task: dict[str, Any]) -> TaskCreated:
        return TaskCreated.model_validate(self._env(actor) | {"data": {"task": task}})

    def assigned(
        self, actor: uuid.UUID, task: dict[str, Any], previous: uuid.UUID | None = None
    ) -> TaskAssigned:
        return TaskAssigned.model_validate(
            self._env(actor) | {"data": {"task": task, "previous_assignee_id": previous}}
        )

    def status(self, actor: uuid.UUID, task: dict[str, Any], previous: str = "todo") -> TaskStatusChanged:
        return TaskStatusChanged.model_validate(
            self._env(actor) | {"data": {"task": task, "previous_status": previous, "previous_position": 1.0}}
        )

    def deleted(
        self, actor: uuid.UUID, task_id: uuid.UUID, assignees: list[uuid.UUID], n: int = 1
    ) -> TaskDeleted:
        ids = [task_id, *(uuid.uuid4() for _ in range(n - 1))]
        return TaskDeleted.model_validate(
            self._env(actor) | {"data": {"task_id": task_id, "deleted_ids": ids, "assignee_ids": assignees}}
        )

    def member_added(self, actor: uuid.UUID, user: uuid.UUID) -> MemberAdded:
        return MemberAdded.model_validate(self._env(actor) | {"data": {"user_id": user, "role": "editor"}})

    def comment(
        self,
        actor: uuid.UUID,
        task_id: uuid.UUID,
        mentions: list[uuid.UUID] = (),  # type: ignore[assignment]
        *,
        body: str = "Looks good @someone",
        comment_id: uuid.UUID | None = None,
        updated: bool = False,
    ) -> CommentCreated | CommentUpdated:
        now = _now()
        comment = {
            "id": comment_id or uuid.uuid4(),
            "task_id": task_id,
            "project_id": self.project_id,
            "author_id": actor,
            "body": body,
            "mentions": list(mentions),
            "created_at": now,
            "updated_at": now,
        }
        model = CommentUpdated if updated else CommentCreated
        return model.model_validate(self._env(actor) | {"data": {"comment": comment}})


def admin_changed(actor: uuid.UUID, user: uuid.UUID, admins: list[uuid.UUID]) -> AdminChanged:
    return AdminChanged.model_validate(
        {
            "event_id": uuid.uuid4(),
            "occurred_at": _now(),
            "actor_id": actor,
            "data": {"user_id": user, "is_admin": True, "admin_ids": admins},
        }
    )


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
def board() -> Board:
    return Board()


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


RunApp = Callable[..., Any]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'notifier.db'}"


@pytest.fixture
async def run_app() -> AsyncIterator[Callable[..., Any]]:
    """Start create_app(...) under its lifespan with an httpx client; stopped at the end of the test."""
    started: list[Running] = []

    async def start(
        *, db_url: str, queue: str, broker: Broker | None = None, redis: Redis | None = None, **env: Any
    ) -> Running:
        given: dict[str, Any] = {"env": "dev", "jwt_secret": SECRET} | env
        settings = Settings(notifier_database_url=db_url, notifier_queue=queue, **given)
        app = create_app(settings, broker=broker, redis=redis)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://notifier")
        started.append(Running(app, client, settings, manager))
        return started[-1]

    yield start
    for running in reversed(started):
        await running.stop()


def consumed(queue: str) -> float:
    """Messages the broker runner acked for ``queue`` (its own metric; unique queue per test)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("boardcast_messages_consumed_total", {"queue": queue}) or 0.0


class Frames:
    """Collects the JSON frames published on some users' Redis channels (what the gateway would relay)."""

    def __init__(self, redis: Redis) -> None:
        self._pubsub = redis.pubsub()
        self.by_user: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self._task: Any = None

    async def watch(self, *users: uuid.UUID) -> Frames:
        import asyncio
        import json

        from boardcast_contracts.keys import user_channel

        channels = {user_channel(u): u for u in users}
        for u in users:
            self.by_user[u] = []
        await self._pubsub.subscribe(*channels)

        async def pump() -> None:
            while True:
                msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg is not None:
                    channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
                    self.by_user[channels[channel]].append(json.loads(msg["data"]))

        self._task = asyncio.create_task(pump())
        return self

    def kinds(self, user: uuid.UUID) -> list[str]:
        return [f["notification"]["kind"] for f in self.by_user[user] if f["type"] == "notification"]

    def ids(self, user: uuid.UUID) -> list[str]:
        return [f["notification"]["id"] for f in self.by_user[user] if f["type"] == "notification"]

    def counts(self, user: uuid.UUID) -> list[int]:
        return [f["unread_count"] for f in self.by_user[user] if f["type"] == "unread_count"]

    async def close(self) -> None:
        import asyncio
        import contextlib

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._pubsub.aclose()
