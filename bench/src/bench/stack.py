"""Our HTTP services as processes on fresh PostgreSQL databases, with names of their own on shared brokers."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from typing import Any

import aio_pika
import asyncpg
import httpx

from bench.procs import Proc, free_port, python_module

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP_URL = os.environ.get("BOARDCAST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def create_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def wait_ready(proc: Proc, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                detail = response.text
            except httpx.HTTPError as exc:
                detail = repr(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} not ready at {url}: {detail}\n{proc.tail()}")
            await asyncio.sleep(0.2)


class Names:
    """One run's private names: exchange, queues, database, Redis DB are never shared with another run."""

    def __init__(self, redis_url: str) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.exchange = f"bench.events.{self.tag}"
        self.redis_url = redis_url
        self.secret = secrets.token_urlsafe(48)

    def common_env(self) -> dict[str, str]:
        return {
            "BOARDCAST_ENV": "production",
            "BOARDCAST_HOST": "127.0.0.1",
            "BOARDCAST_AMQP_URL": AMQP_URL,
            "BOARDCAST_REDIS_URL": self.redis_url,
            "BOARDCAST_EXCHANGE": self.exchange,
            "BOARDCAST_JWT_SECRET": self.secret,
            "BOARDCAST_ALLOWED_ORIGINS": "http://127.0.0.1",  # one origin: no list syntax to disagree on
        }


class TasksApi:
    """``python -m tasks_api`` (migrates, then serves) on its own fresh database."""

    def __init__(self, names: Names, label: str, **settings: str) -> None:
        self.names = names
        self.label = label
        self.port = free_port()
        self.db_name = f"bench_{names.tag}_{label}"
        self.settings = settings
        self.proc: Proc | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        url = await create_database(self.db_name)
        env = {
            **self.names.common_env(),
            "BOARDCAST_PORT": str(self.port),
            "BOARDCAST_DATABASE_URL": url,
            **{f"BOARDCAST_{k.upper()}": v for k, v in self.settings.items()},
        }
        self.proc = Proc(f"tasks-api-{self.label}", python_module("tasks_api"), env=env)
        await wait_ready(self.proc, f"{self.base}/readyz")

    async def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        await drop_database(self.db_name)

    async def pending_outbox(self) -> int:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{self.db_name}")
        try:
            return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        finally:
            await conn.close()

    async def outbox_rows(self) -> int:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{self.db_name}")
        try:
            return int(await conn.fetchval("SELECT count(*) FROM outbox"))
        finally:
            await conn.close()


class Client:
    """A registered, logged-in user of one tasks-api, with the calls the benchmarks need."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.token = ""
        self.user_id = ""
        self.tasks: list[str] = []

    async def register(self, name: str = "Bench") -> None:
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        password = secrets.token_urlsafe(16)
        r = await self.http.post(
            "/api/auth/register", json={"email": email, "name": name, "password": password}
        )
        r.raise_for_status()
        self.user_id = r.json()["id"]
        r = await self.http.post("/api/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        self.token = r.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    async def project(self, name: str) -> str:
        r = await self.http.post("/api/projects", json={"name": name})
        r.raise_for_status()
        return str(r.json()["id"])

    async def task(self, project_id: str, **fields: Any) -> dict[str, Any]:
        r = await self.http.post(f"/api/projects/{project_id}/tasks", json={"title": "bench task", **fields})
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc

    async def aclose(self) -> None:
        await self.http.aclose()


class EventCounter:
    """A private queue bound to the run's exchange: counts every project event the relay published."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.queue_name = f"bench.count.{uuid.uuid4().hex[:10]}"

    async def start(self) -> None:
        self.connection = await aio_pika.connect(AMQP_URL, timeout=15)
        self.channel = await self.connection.channel()
        exchange = await self.channel.declare_exchange(self.exchange, passive=True)
        self.queue = await self.channel.declare_queue(self.queue_name, exclusive=True)
        await self.queue.bind(exchange, "project.#")

    async def count(self) -> int:
        declared = await self.channel.declare_queue(self.queue_name, passive=True)
        return int(declared.declaration_result.message_count or 0)

    async def stop(self) -> None:
        if hasattr(self, "connection"):
            await self.connection.close()


async def delete_broker_objects(queues: list[str], exchanges: list[str], retry_queues: int = 16) -> None:
    """Remove what a run declared on the shared RabbitMQ: queues with their ``.parked``, ``.retry.<n>``."""
    connection = await aio_pika.connect(AMQP_URL, timeout=15)
    try:
        channel = await connection.channel()
        names = [
            n
            for q in queues
            for n in (q, f"{q}.parked", *(f"{q}.retry.{i}" for i in range(1, retry_queues + 1)))
        ]
        for name in names:
            try:
                await channel.queue_delete(name)
            except Exception:  # a refused delete closes the channel; carry on with a new one
                channel = await connection.channel()
        for name in exchanges:
            try:
                await channel.exchange_delete(name)
            except Exception:
                channel = await connection.channel()
    finally:
        await connection.close()
