"""`python -m cache_invalidator`: run the service under uvicorn."""

from __future__ import annotations

import gc
import sys

import uvicorn
from pydantic import ValidationError

from cache_invalidator.app import create_app
from cache_invalidator.logs import configure_logging
from cache_invalidator.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BOARDCAST_" + "_".join(str(p) for p in first["loc"]).upper() if first["loc"] else "settings"
        sys.exit(f"cache-invalidator: bad setting {name}: {first['msg'].removeprefix('Value error, ')}")


def main() -> None:
    settings = _settings()
    configure_logging(settings.log_level)
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
    main()
