"""Plumbing the notifier and the cache-invalidator share: JSON logs, settings checks, the entry point."""

from boardcast_service_kit.logs import configure_logging
from boardcast_service_kit.process import serve, settings_or_exit
from boardcast_service_kit.settings import url_outside_dev

__all__ = ["configure_logging", "serve", "settings_or_exit", "url_outside_dev"]
