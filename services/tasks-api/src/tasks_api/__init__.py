"""Boardcast tasks-api: the source of truth (users, projects, tasks, comments), sole writer of events."""

from tasks_api.app import create_app
from tasks_api.settings import Settings

__all__ = ["Settings", "create_app"]
