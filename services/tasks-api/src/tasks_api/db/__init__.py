"""Persistence: the SQLAlchemy tables and the engine/session factory (PostgreSQL or SQLite, one code path)."""
