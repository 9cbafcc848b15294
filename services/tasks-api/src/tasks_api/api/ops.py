"""Operational routes: /healthz, /readyz, /metrics, and /api/config for the web page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from tasks_api.api.deps import ServicesDep
from tasks_api.db.models import OutboxRow

router = APIRouter(tags=["ops"])
log = structlog.get_logger("tasks_api.ops")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(coro: Any) -> bool:
    try:
        async with asyncio.timeout(2.0):
            return bool(await coro)
    except Exception:
        return False


@router.get("/readyz", responses={503: {"description": "A dependency is down; the body names it"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    async def database() -> bool:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    results = await asyncio.gather(
        _check(database()), _check(services.broker.ready()), _check(services.redis.ping())
    )
    checks = dict(zip(("database", "broker", "redis"), results, strict=True))
    down = [name for name, ok in checks.items() if not ok]
    body = {"status": "ready" if not down else "unavailable", "checks": checks, "down": down}
    return JSONResponse(body, status_code=503 if down else 200)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(services: ServicesDep) -> PlainTextResponse:
    try:
        async with asyncio.timeout(2.0), services.sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxRow.created_at)).where(
                        OutboxRow.published_at.is_(None)
                    )
                )
            ).one()
        services.metrics.outbox_backlog.set(count)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        services.metrics.outbox_oldest_age.set(age)
    except Exception as exc:  # the database being down must not take /metrics with it
        log.warning("outbox_gauges_unavailable", error=type(exc).__name__)
    return PlainTextResponse(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/config")
async def config(services: ServicesDep) -> dict[str, str | None]:
    return {"ws_url": services.settings.public_ws_url}
