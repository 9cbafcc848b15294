"""`python -m notifier [serve|migrate]`: run the service under uvicorn (migrating first), or only migrate."""

from __future__ import annotations

import asyncio
import sys

from boardcast_service_kit import configure_logging, serve, settings_or_exit

from notifier.app import create_app
from notifier.migrate import migrate_url
from notifier.settings import Settings


def main(argv: list[str]) -> None:
    settings = settings_or_exit(Settings, "notifier")
    configure_logging(settings.log_level)
    command = argv[0] if argv else "serve"
    if command not in ("serve", "migrate"):
        sys.exit(f"usage: python -m notifier [serve|migrate] (got {command!r})")
    asyncio.run(migrate_url(settings.db_url))
    if command == "serve":
        serve(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main(sys.argv[1:])
