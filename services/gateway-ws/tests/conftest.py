"""Fixtures for the gateway suite: gateways on free ports sharing real Redis and RabbitMQ, unique names."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from boardcast_testkit import unique
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).parent))

from gateway_ws import Gateway, Settings, create_gateway
from gwtesting import SECRET, FakeBacklog, FakeMembership, GatewayFactory


@pytest.fixture
def membership() -> FakeMembership:
    return FakeMembership()


@pytest.fixture
def backlog() -> FakeBacklog:
    return FakeBacklog()


@pytest.fixture
def prefix() -> str:
    return unique("gwtest")


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def gateways(
    redis_url: str, prefix: str, membership: FakeMembership, backlog: FakeBacklog
) -> AsyncIterator[GatewayFactory]:
    """Start gateways sharing one Redis key prefix (and one exchange/queue when ingest is on)."""
    started: list[Gateway] = []
    exchange, queue = unique("ex"), unique("gw-ingest")

    async def make(**overrides: Any) -> Gateway:
        values: dict[str, Any] = {
            "env": "production",
            "port": 0,
            "jwt_secret": SECRET,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "exchange": exchange,
            "ingest_queue": queue,
            "ingest_enabled": False,
            "allowed_origins": ["http://good.example"],
            "instance": f"gw-{len(started) + 1}",
            "redis_heartbeat_s": 0.5,
            "presence_refresh_s": 0.5,
            "presence_ttl_s": 2.0,
            "close_timeout_s": 2.0,
            "drain_window_s": 0.5,
        }
        values.update(overrides)
        redis = overrides.pop("redis", None)
        broker = overrides.pop("broker", None)
        values.pop("redis", None)
        values.pop("broker", None)
        gw = create_gateway(
            Settings(**values),
            broker=broker,
            redis=redis,
            membership=membership,
            notifications_backlog=backlog,
        )
        await gw.start()
        started.append(gw)
        return gw

    yield make
    for gw in started:
        with contextlib.suppress(Exception):
            await gw.stop()
    cleanup = Redis.from_url(redis_url)
    keys = [k async for k in cleanup.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await cleanup.delete(*keys)
    await cleanup.aclose()
