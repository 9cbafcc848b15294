"""Alembic environment: runs migrations over the async engine of the configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tasks_api.db.engine import build_engine
from tasks_api.db.models import Base

config = context.config
target_metadata = Base.metadata


_MIGRATION_LOCK = 0x0B0A_0001  # replicas starting together migrate one after the other, not all at once


def _run(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=not postgres,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})


async def _run_async() -> None:
    engine = build_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `boardcast migrate` against a database")
asyncio.run(_run_async())
