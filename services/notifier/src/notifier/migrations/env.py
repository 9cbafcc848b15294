"""Alembic environment: runs on the connection `notifier.migrate` hands in (async engines included)."""

from __future__ import annotations

from alembic import context

from notifier.db import Base
from notifier.migrate import VERSION_TABLE, lock_for_migration

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the notifier's migrations with `python -m notifier migrate`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    lock_for_migration(connection)
    context.run_migrations()
