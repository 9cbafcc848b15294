"""End-to-end fixtures: the distributed stack as real processes on real PostgreSQL, RabbitMQ and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from boardcast_dev.stack import Stack
from boardcast_testkit import TcpProxy, unique
from boardcast_testkit.plugin import AMQP_URL, PG_URL, REDIS_URL
from websockets.asyncio.client import ClientConnection, connect


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stack_ports() -> dict[str, int]:
    return {n: _free_port() for n in ("tasks-api", "gateway-1", "gateway-2", "notifier", "cache-invalidator")}


async def _create_db() -> tuple[str, str]:
    import asyncpg

    name = unique("bc_e2e").replace("-", "_")
    admin_url = urlunsplit(urlsplit(PG_URL.replace("postgresql+asyncpg", "postgresql")))
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))


async def _drop_db(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(urlunsplit(urlsplit(PG_URL.replace("postgresql+asyncpg", "postgresql"))))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def isolated_env(db_url: str, amqp_url: str = AMQP_URL, redis_url: str = REDIS_URL) -> dict[str, str]:
    """Settings that keep this stack's exchange, queues and room keys apart from every other test's."""
    tag = unique("e2e")
    return {
        "BOARDCAST_DATABASE_URL": db_url,
        "BOARDCAST_AMQP_URL": amqp_url,
        "BOARDCAST_REDIS_URL": redis_url,
        "BOARDCAST_EXCHANGE": f"{tag}.events",
        "BOARDCAST_INGEST_QUEUE": f"{tag}.gateway-ws.ingest",
        "BOARDCAST_NOTIFIER_QUEUE": f"{tag}.notifier",
        "BOARDCAST_CACHE_INVALIDATOR_QUEUE": f"{tag}.cache-invalidator",
        "BOARDCAST_REDIS_PREFIX": f"{tag}:gw",
        "BOARDCAST_DRAIN_WINDOW_S": "0.5",
        "BOARDCAST_ARGON2_TIME_COST": "1",
        "BOARDCAST_ARGON2_MEMORY_KIB": "1024",
        "BOARDCAST_LOG_LEVEL": "warning",
    }


@contextlib.asynccontextmanager
async def running_stack(**proxies: TcpProxy) -> AsyncIterator[Stack]:
    name, db_url = await _create_db()
    amqp = AMQP_URL
    redis = REDIS_URL
    if "amqp" in proxies:
        amqp = f"amqp://guest:guest@127.0.0.1:{proxies['amqp'].port}/"
    if "redis" in proxies:
        redis = f"redis://127.0.0.1:{proxies['redis'].port}/0"
    stack = Stack(stack_ports(), isolated_env(db_url, amqp, redis), quiet=True)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
        await _drop_db(name)
        await _delete_broker_objects(stack.env)
        await _delete_room_keys(stack.env)


async def _delete_room_keys(env: dict[str, str]) -> None:
    """Remove the stack's gateway keys (rooms, presence, connection counts) from the shared Redis."""
    from redis.asyncio import Redis

    with contextlib.suppress(Exception):
        redis = Redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in redis.scan_iter(match=env["BOARDCAST_REDIS_PREFIX"] + ":*", count=500)]
            for i in range(0, len(keys), 500):
                await redis.delete(*keys[i : i + 500])
        finally:
            await redis.aclose()


async def _delete_broker_objects(env: dict[str, str]) -> None:
    """Remove the stack's exchange and queues (with their retry and parking queues) from RabbitMQ."""
    import aio_pika

    with contextlib.suppress(Exception):
        conn = await aio_pika.connect(AMQP_URL, timeout=5)
        async with conn:
            channel = await conn.channel()
            for key in (
                "BOARDCAST_INGEST_QUEUE",
                "BOARDCAST_NOTIFIER_QUEUE",
                "BOARDCAST_CACHE_INVALIDATOR_QUEUE",
            ):
                for suffix in ("", ".parked", ".retry.1", ".retry.2", ".retry.3", ".retry.4", ".retry.5"):
                    with contextlib.suppress(Exception):
                        await channel.queue_delete(env[key] + suffix)
                    if channel.is_closed:
                        channel = await conn.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(env["BOARDCAST_EXCHANGE"])


@dataclass
class User:
    id: str
    email: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def register(client: httpx.AsyncClient, name: str = "") -> User:
    name = name or unique("user")
    email = f"{unique(name)}@example.com"
    r = await client.post(
        "/api/auth/register", json={"email": email, "name": name, "password": "pw-" + email}
    )
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = await client.post("/api/auth/login", json={"email": email, "password": "pw-" + email})
    assert r.status_code == 200, r.text
    return User(user_id, email, name, r.json()["access_token"])


@dataclass
class Socket:
    """A WebSocket client that records every JSON frame it receives, and how it was closed."""

    conn: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str) -> Socket:
        conn = await connect(url, open_timeout=10, max_size=2**20)
        sock = cls(conn)
        sock.reader = asyncio.create_task(sock._read())
        return sock

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.conn:
                self.frames.append(json.loads(raw))

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if "event_id" in f]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    @property
    def close_code(self) -> int | None:
        return self.conn.close_code

    async def close(self) -> None:
        await self.conn.close()
        if self.reader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


def ws_url(stack: Stack, gateway: str, path: str, token: str, since: int | None = None) -> str:
    port = stack.procs[gateway].port
    url = f"ws://127.0.0.1:{port}{path}?token={token}"
    return url if since is None else f"{url}&since={since}"


@pytest.fixture
async def http_for() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(base_url: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=base_url, timeout=15.0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()
