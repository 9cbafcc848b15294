"""Pytest plugin: real-service gating for the whole repo, and the shared fixtures (names, ports, databases).

Tests that need a real service carry a marker (``rabbitmq``, ``redis``, ``postgres``). Reachability is checked
once per run. A test whose service is down is skipped, with one summary line at the end, unless
``BOARDCAST_REQUIRE_SERVICES=1``, which makes it fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from boardcast_testkit import unique

AMQP_URL = os.environ.get("BOARDCAST_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("BOARDCAST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get(
    "BOARDCAST_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)

SERVICES = {"rabbitmq": AMQP_URL, "redis": REDIS_URL, "postgres": PG_URL}
_DEFAULT_PORTS = {"rabbitmq": 5672, "redis": 6379, "postgres": 5432}
_reachable: dict[str, bool] = {}
_skipped: dict[str, int] = {}


def require_services() -> bool:
    return os.environ.get("BOARDCAST_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def _probe(name: str) -> bool:
    if name not in _reachable:
        parts = urlsplit(SERVICES[name])
        host, port = parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS[name]
        try:
            with socket.create_connection((host, port), timeout=1.0):
                _reachable[name] = True
        except OSError:
            _reachable[name] = False
    return _reachable[name]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name in SERVICES:
        if item.get_closest_marker(name) is None or _probe(name):
            continue
        where = SERVICES[name]
        if require_services():
            pytest.fail(f"{name} is unreachable at {where} and BOARDCAST_REQUIRE_SERVICES=1", pytrace=False)
        _skipped[name] = _skipped.get(name, 0) + 1
        pytest.skip(f"{name} unreachable at {where}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Delete the RabbitMQ queues and exchanges this run's tests made (names from unique()).

    Quorum queues left behind pile up across runs on a shared broker (each is a Raft group) until it stops
    answering; tests clean up after themselves, and this is the net under them. Only names this process
    generated are touched, so concurrent runs are left alone.
    """
    from boardcast_testkit import GENERATED

    if GENERATED and _reachable.get("rabbitmq"):
        import contextlib

        with contextlib.suppress(Exception):
            listed = _list_broker_objects(sorted(GENERATED))
            if listed["queues"] or listed["exchanges"]:
                asyncio.run(asyncio.wait_for(_delete_broker_objects(listed), 60))


def _list_broker_objects(names: list[str]) -> dict[str, list[str]]:
    ctl = shutil.which("rabbitmqctl")
    listed: dict[str, list[str]] = {"queues": [], "exchanges": []}
    if ctl is None:
        return listed
    for what in listed:
        out = subprocess.run(  # noqa: S603 - our own fixed arguments
            [ctl, "-q", f"list_{what}", "name"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
        listed[what] = [
            line.strip() for line in out.splitlines() if any(line.strip().startswith(n) for n in names)
        ]
    return listed


async def _delete_broker_objects(listed: dict[str, list[str]]) -> None:
    import aio_pika

    conn = await aio_pika.connect(AMQP_URL, timeout=10)
    async with conn:
        for queue in listed["queues"]:
            channel = await conn.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(queue)
        for exchange in listed["exchanges"]:
            channel = await conn.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(exchange)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        what = ", ".join(f"{n} ({SERVICES[n]}): {c} tests" for n, c in sorted(_skipped.items()))
        terminalreporter.write_line(
            f"SKIPPED for lack of real services — {what}. Set BOARDCAST_REQUIRE_SERVICES=1 to fail instead.",
            yellow=True,
        )


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    return unique


@pytest.fixture
def amqp_url() -> str:
    return AMQP_URL


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards; yields its SQLAlchemy URL."""
    import asyncpg  # local: only tests marked postgres need it

    name = f"bc_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(PG_URL.replace("postgresql+asyncpg", "postgresql"))
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = urlsplit(PG_URL)
    yield urlunsplit(base._replace(path=f"/{name}"))
    admin = await asyncpg.connect(urlunsplit(parts))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def free_port() -> Iterator[Callable[[], int]]:
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
            return port

    yield pick
