"""`python -m cache_invalidator`: run the service under uvicorn."""

from __future__ import annotations

from boardcast_service_kit import configure_logging, serve, settings_or_exit

from cache_invalidator.app import create_app
from cache_invalidator.settings import Settings


def main() -> None:
    settings = settings_or_exit(Settings, "cache-invalidator")
    configure_logging(settings.log_level)
    serve(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
