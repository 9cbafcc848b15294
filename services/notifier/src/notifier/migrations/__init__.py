"""Alembic migrations of the notifier's own tables (version table `notifier_alembic_version`)."""
