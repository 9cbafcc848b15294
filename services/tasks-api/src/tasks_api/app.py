"""Composition root: ``create_app(settings)`` builds the database, broker, Redis, relay and routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from boardcast_messaging import Broker, create_broker
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tasks_api.api import accounts, errors, notifier_proxy, ops, projects, reports, tasks
from tasks_api.api.deps import Services
from tasks_api.cache import RowCache
from tasks_api.db.engine import build_engine, build_sessionmaker
from tasks_api.migrate import upgrade_async
from tasks_api.observability import Metrics, RequestMiddleware
from tasks_api.outbox.relay import Relay
from tasks_api.security import Passwords, Tokens
from tasks_api.settings import Settings

log = structlog.get_logger("tasks_api")


def _redis_from(settings: Settings) -> Redis:
    if settings.redis_url:
        # Short timeouts and no retries: with Redis down the cache is skipped, the request must not wait.
        return Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis()


async def _connect(broker: Broker) -> None:
    """Start the broker, retrying while it is down: the API serves (and the outbox fills) meanwhile."""
    delay = 0.5
    while True:
        try:
            await broker.start()
            log.info("broker_connected")
            return
        except Exception as exc:
            log.warning("broker_unavailable", error=f"{type(exc).__name__}: {exc}", retry_in=delay)
            with contextlib.suppress(Exception):
                await broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _web_dir(settings: Settings) -> Path | None:
    candidates = (
        [settings.web_dir] if settings.web_dir else [Path.cwd() / "web", Path(__file__).parents[4] / "web"]
    )
    for path in candidates:
        if path is not None and path.is_dir() and any(path.iterdir()):
            return path
    return None


def create_app(settings: Settings, *, broker: Broker | None = None, redis: Redis | None = None) -> FastAPI:
    """The tasks-api app. Adapters passed in are used as they are (and not closed); the rest are made here."""
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.should_migrate_on_start:
            await upgrade_async(settings.database_url)
        engine = build_engine(settings.database_url, pool_size=settings.db_pool_size)
        own_broker = broker is None
        the_broker = broker or create_broker(
            settings.amqp_url, exchange=settings.exchange, service="tasks-api"
        )
        the_redis = redis if redis is not None else _redis_from(settings)
        connecting: asyncio.Task[None] | None = None
        if own_broker:
            connecting = asyncio.create_task(_connect(the_broker), name="broker-connect")
        relay = None
        if settings.relay_enabled:
            relay = Relay(
                engine,
                lambda: the_broker.publisher,
                metrics,
                batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds,
                retention_seconds=settings.outbox_retention_seconds,
            )
        app.state.services = Services(
            settings=settings,
            engine=engine,
            sessions=build_sessionmaker(engine),
            passwords=Passwords(settings),
            tokens=Tokens(settings),
            metrics=metrics,
            broker=the_broker,
            redis=the_redis,
            cache=RowCache(the_redis, settings.cache_ttl_seconds),
            relay=relay,
        )
        if relay is not None:
            relay.start()
            relay.wake()  # publish whatever an earlier run left behind
        log.info("started", env=settings.env, relay=settings.relay_enabled, database=engine.dialect.name)
        try:
            yield
        finally:
            if relay is not None:
                await relay.stop(settings.shutdown_flush_seconds)
            if connecting is not None and not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
            if own_broker:
                await the_broker.stop()
            if redis is None:
                with contextlib.suppress(Exception):
                    await the_redis.aclose()
            await engine.dispose()
            log.info("stopped")

    app = FastAPI(title="Boardcast tasks-api", version="1.0.0", lifespan=lifespan)
    errors.install(app)
    for module in (accounts, projects, tasks, reports):
        app.include_router(module.router, responses=errors.ERRORS)
    app.include_router(ops.router)
    if settings.notifier_url:
        app.include_router(notifier_proxy.build_router(settings.notifier_url))
    if settings.allowed_origins:  # only for a page served from another origin; ours is same-origin
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Cache", "X-Request-ID"],
        )
    app.add_middleware(RequestMiddleware, metrics=metrics)
    web = _web_dir(settings)
    if web is not None:
        app.mount("/", StaticFiles(directory=web, html=True), name="web")
    return app
