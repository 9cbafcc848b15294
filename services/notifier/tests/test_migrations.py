"""Migrations: to head on PostgreSQL and SQLite, idempotent, and safe when replicas start at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from notifier.db import make_engine
from notifier.migrate import migrate_url
from sqlalchemy import inspect

from .conftest import SECRET

TABLES = {"notifier_inbox", "notifier_notifications", "notifier_tasks", "notifier_alembic_version"}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_replicas_migrating_at_once_serialise_on_the_advisory_lock(pg_database: str) -> None:
    """Two `python -m notifier migrate` processes against one fresh database: all succeed, one schema."""
    env = os.environ | {
        "BOARDCAST_ENV": "production",
        "BOARDCAST_NOTIFIER_DATABASE_URL": pg_database,
        "BOARDCAST_AMQP_URL": "amqp://unused/",
        "BOARDCAST_REDIS_URL": "redis://unused/",
        "BOARDCAST_JWT_SECRET": SECRET,
    }
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "notifier", "migrate", env=env, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0, 0], [err.decode()[-500:] for _, err in results]
    assert await _tables(pg_database) == TABLES
    await migrate_url(pg_database)  # at head already: a no-op


def test_a_bad_setting_stops_the_process_with_one_line_naming_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDCAST_")}
    env |= {
        "BOARDCAST_ENV": "production",
        "BOARDCAST_DATABASE_URL": "sqlite+aiosqlite://",
        "BOARDCAST_AMQP_URL": "amqp://x/",
        "BOARDCAST_REDIS_URL": "redis://x/",
        "BOARDCAST_JWT_SECRET": "short",
    }
    done = subprocess.run(
        [sys.executable, "-m", "notifier"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    expected = "notifier: bad setting BOARDCAST_JWT_SECRET: must be a real secret of at least 32 characters"
    assert done.stderr.strip().splitlines() == [f"{expected} outside dev mode (it has 5)"]


async def test_sqlite_to_head_twice(sqlite_url: str) -> None:
    await migrate_url(sqlite_url)
    await migrate_url(sqlite_url)
    assert await _tables(sqlite_url) == TABLES
