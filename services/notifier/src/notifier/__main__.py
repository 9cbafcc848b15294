"""`python -m notifier [serve|migrate]`: run the service under uvicorn (migrating first), or only migrate."""

from __future__ import annotations

import asyncio
import gc
import sys

import uvicorn
from pydantic import ValidationError

from notifier.app import create_app
from notifier.db import make_engine
from notifier.logs import configure_logging
from notifier.migrate import migrate
from notifier.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BOARDCAST_" + "_".join(str(p) for p in first["loc"]).upper() if first["loc"] else "settings"
        sys.exit(f"notifier: bad setting {name}: {first['msg'].removeprefix('Value error, ')}")


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> None:
    settings = _settings()
    configure_logging(settings.log_level)
    command = argv[0] if argv else "serve"
    if command not in ("serve", "migrate"):
        sys.exit(f"usage: python -m notifier [serve|migrate] (got {command!r})")
    asyncio.run(_migrate(settings.db_url))
    if command == "serve":
        app = create_app(settings)
        gc.collect()
        gc.freeze()  # start-up objects live forever: keep full collections (and their pauses) off them
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            timeout_graceful_shutdown=30,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
