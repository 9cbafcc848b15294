"""Alembic migrations: the only way the tasks-api schema is made."""
