"""Composition root: builds the database, Redis and broker adapters from settings and wires the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from boardcast_messaging import Broker, create_broker
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from notifier.api import Services, notifications, router
from notifier.consumer import consumer_spec, make_handler
from notifier.db import make_engine, make_sessionmaker
from notifier.migrate import migrate
from notifier.push import Pusher
from notifier.settings import Settings
from notifier.store import NotificationStore

log = structlog.get_logger("notifier")
PROBE_TIMEOUT = 2.0


def create_app(settings: Settings, *, broker: Broker | None = None, redis: Redis | None = None) -> FastAPI:
    """Adapters passed in are used as they are and left open (the dev runner owns them); others are built,
    started and closed here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            engine = make_engine(settings.db_url)
            stack.push_async_callback(engine.dispose)
            if settings.notifier_migrate_on_start:
                await migrate(engine)
            store = NotificationStore(make_sessionmaker(engine))

            the_redis = redis
            if the_redis is None:
                if not settings.redis_url:
                    raise RuntimeError("BOARDCAST_REDIS_URL is not set and no Redis client was passed in")
                the_redis = Redis.from_url(settings.redis_url, socket_timeout=5, health_check_interval=30)
                stack.push_async_callback(the_redis.aclose)

            the_broker = broker
            if the_broker is None:
                the_broker = create_broker(settings.amqp_url, exchange=settings.exchange, service="notifier")
                await the_broker.start()
                stack.push_async_callback(the_broker.stop)

            pusher = Pusher(the_redis)
            app.state.services = Services(store, pusher, settings.jwt_secret, settings.jwt_algorithm)

            async def readiness() -> list[str]:
                async def db() -> None:
                    async with engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))

                async def broker_ok() -> None:
                    if not await the_broker.ready():
                        raise ConnectionError("broker not connected")

                checks = {"database": db(), "broker": broker_ok(), "redis": the_redis.ping()}
                results = await asyncio.gather(
                    *(asyncio.wait_for(c, PROBE_TIMEOUT) for c in checks.values()), return_exceptions=True
                )
                return [name for name, r in zip(checks, results, strict=True) if isinstance(r, BaseException)]

            app.state.readiness = readiness
            handle = await the_broker.consume(
                consumer_spec(
                    settings.notifier_queue, settings.notifier_prefetch, settings.notifier_retry_delays
                ),
                make_handler(store, pusher),
            )
            # Stopped before the broker closes: the message in hand finishes, the rest stay queued.
            stack.push_async_callback(handle.stop)
            log.info("notifier_started", queue=settings.notifier_queue, exchange=settings.exchange)
            yield
            log.info("notifier_stopping")

    app = FastAPI(title="Boardcast notifier", lifespan=lifespan)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(OSError)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is down or unreachable: a 503 the caller can retry, not a 500.
        log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
        return JSONResponse({"detail": "database unavailable, try again"}, status_code=503)

    app.include_router(notifications)
    app.include_router(router)
    return app
