"""notifier: stores per-user notifications from Boardcast events, serves them, and pushes them live."""

from notifier.app import create_app
from notifier.settings import Settings

__all__ = ["Settings", "create_app"]
