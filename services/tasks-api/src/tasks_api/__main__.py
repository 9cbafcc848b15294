"""``python -m tasks_api``: run the migrations, then serve on BOARDCAST_HOST:BOARDCAST_PORT.

``python -m tasks_api migrate`` only migrates.
"""

from __future__ import annotations

import sys

import uvicorn

from tasks_api.app import create_app
from tasks_api.migrate import upgrade
from tasks_api.observability import configure_logging
from tasks_api.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    settings = load_settings()
    configure_logging()
    upgrade(settings.database_url)
    if args[:1] == ["migrate"]:
        return
    app = create_app(settings.model_copy(update={"migrate_on_start": False}))
    # timeout_graceful_shutdown bounds how long in-flight requests may finish on SIGTERM before the lifespan
    # shutdown (relay flush) runs.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
