"""Composition root: builds the Redis and broker adapters from settings and starts the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from boardcast_messaging import Broker, create_broker
from fastapi import FastAPI
from redis.asyncio import Redis

from cache_invalidator.api import router
from cache_invalidator.invalidate import consumer_spec, make_handler
from cache_invalidator.settings import Settings

log = structlog.get_logger("cache_invalidator")
PROBE_TIMEOUT = 2.0


def create_app(settings: Settings, *, broker: Broker | None = None, redis: Redis | None = None) -> FastAPI:
    """Adapters passed in are used as they are and left open (the dev runner owns them); others are built,
    started and closed here."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            the_redis = redis
            if the_redis is None:
                if not settings.redis_url:
                    raise RuntimeError("BOARDCAST_REDIS_URL is not set and no Redis client was passed in")
                # Short timeouts: a Redis that hangs must fail the attempt (and schedule a retry) quickly.
                the_redis = Redis.from_url(
                    settings.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
                )
                stack.push_async_callback(the_redis.aclose)

            the_broker = broker
            if the_broker is None:
                the_broker = create_broker(
                    settings.amqp_url, exchange=settings.exchange, service="cache-invalidator"
                )
                await the_broker.start()
                stack.push_async_callback(the_broker.stop)

            async def readiness() -> list[str]:
                async def broker_ok() -> None:
                    if not await the_broker.ready():
                        raise ConnectionError("broker not connected")

                checks = {"broker": broker_ok(), "redis": the_redis.ping()}
                results = await asyncio.gather(
                    *(asyncio.wait_for(c, PROBE_TIMEOUT) for c in checks.values()), return_exceptions=True
                )
                return [name for name, r in zip(checks, results, strict=True) if isinstance(r, BaseException)]

            app.state.readiness = readiness
            app.state.redis = the_redis
            spec = consumer_spec(
                settings.cache_invalidator_queue,
                settings.cache_invalidator_prefetch,
                settings.cache_invalidator_retry_delays,
            )
            handle = await the_broker.consume(spec, make_handler(the_redis))
            # Stopped before the broker closes: the message in hand finishes, the rest stay queued.
            stack.push_async_callback(handle.stop)
            log.info("cache_invalidator_started", queue=spec.queue, exchange=settings.exchange)
            yield
            log.info("cache_invalidator_stopping")

    app = FastAPI(title="Boardcast cache-invalidator", lifespan=lifespan)
    app.include_router(router)
    return app
