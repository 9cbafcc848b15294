"""A service process's entry point: settings read once (a bad one is one line naming it), then uvicorn."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError

S = TypeVar("S")


def settings_or_exit(load: Callable[[], S], service: str) -> S:
    """``load()``, or exit with ``<service>: bad setting BOARDCAST_<NAME>: <why>`` on stderr (status 1)."""
    try:
        return load()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BOARDCAST_" + "_".join(str(p) for p in first["loc"]).upper() if first["loc"] else "settings"
        sys.exit(f"{service}: bad setting {name}: {first['msg'].removeprefix('Value error, ')}")


def serve(app: Any, *, host: str, port: int, graceful_s: int = 30) -> None:
    """Run ``app`` under uvicorn until SIGTERM, in-flight requests given ``graceful_s`` to finish.

    Everything loaded so far lives for the whole process: ``gc.freeze`` keeps full collections (and their
    pauses, ~100 ms with a large heap) off it.
    """
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=graceful_s)
