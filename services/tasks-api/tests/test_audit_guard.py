"""The database itself refuses UPDATE and DELETE on the audit log (SQLite here; PostgreSQL in integration)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tasks_api.db.engine import build_engine


async def assert_audit_log_is_append_only(url: str) -> None:
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, sensitivity) "
                    "VALUES (CURRENT_TIMESTAMP, :actor, 'test', 'test', 'x', 'info')"
                ),
                {"actor": uuid.uuid4().hex if url.startswith("sqlite") else uuid.uuid4()},
            )
        for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT action FROM audit_log"))).scalars().all()
        assert rows == ["test"]
    finally:
        await engine.dispose()


async def test_sqlite_refuses_update_and_delete(sqlite_url):
    await assert_audit_log_is_append_only(sqlite_url)


@pytest.mark.postgres
async def test_postgres_refuses_update_and_delete(migrated_pg):
    await assert_audit_log_is_append_only(migrated_pg)
