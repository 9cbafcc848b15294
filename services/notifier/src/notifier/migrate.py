"""Bring the notifier's schema to head with Alembic, on any async engine, safely from several replicas."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from notifier.db import make_engine

VERSION_TABLE = "notifier_alembic_version"
# Any constant will do; it only has to differ from other services' migration locks.
_PG_LOCK_KEY = 0x6E6F7469666965  # "notifie"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def lock_for_migration(connection: Connection) -> None:
    """Serialise concurrent starts on PostgreSQL (released at commit); SQLite locks the file itself."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """One call at a time per process (Alembic's context is process-global); across processes, the lock."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def migrate_url(url: str) -> None:
    """``migrate`` on a short-lived engine of its own: ``python -m notifier`` before serving, and tests."""
    engine = make_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
