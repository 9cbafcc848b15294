"""``python -m gateway_ws``: one replica on BOARDCAST_HOST:BOARDCAST_PORT (default 127.0.0.1:8001)."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from pydantic import ValidationError

from gateway_ws.app import create_gateway
from gateway_ws.auth import install_log_redaction, redact
from gateway_ws.settings import Settings


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        name = f"BOARDCAST_{where.upper()}: " if where else ""
        print(f"gateway-ws: bad setting: {name}{first.get('msg')}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s", stream=sys.stdout)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            _redact_event,
            structlog.processors.JSONRenderer(),
        ]
    )
    install_log_redaction()
    gateway = create_gateway(settings)
    # Everything loaded so far is never garbage; keep full collections from scanning it (a full collection
    # over start-up objects paused the loop for tens of ms, which lands straight on fan-out latency).
    gc.collect()
    gc.freeze()
    try:
        try:
            import uvloop
        except ImportError:  # pragma: no cover - a dependency, but not on every platform
            asyncio.run(gateway.serve_forever())
        else:
            uvloop.run(gateway.serve_forever())
    except ValueError as exc:
        print(f"gateway-ws: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
