"""`make dev`: every service in one process on embedded defaults, with demo data.

One asyncio loop holds tasks-api and the notifier (one HTTP port, routed by path), the cache-invalidator's
consumer, and a gateway-ws replica (its own port). They share one in-process topic bus and one in-process
Redis-compatible store (fakeredis) — unless BOARDCAST_AMQP_URL / BOARDCAST_REDIS_URL are set, in which case
the real ones are used. The database is a SQLite file unless BOARDCAST_DATABASE_URL says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from rich.console import Console
from rich.table import Table

DEV_SECRET = "boardcast-dev-mode-shared-jwt-secret-do-not-deploy"
console = Console()


@dataclass(frozen=True)
class DevConfig:
    host: str
    port: int
    gateway_port: int
    database_url: str
    amqp_url: str | None
    redis_url: str | None
    jwt_secret: str
    seed: bool

    @classmethod
    def from_env(cls) -> DevConfig:
        env = os.environ
        port = int(env.get("BOARDCAST_PORT", "8000"))
        return cls(
            host=env.get("BOARDCAST_HOST", "127.0.0.1"),
            port=port,
            gateway_port=int(env.get("BOARDCAST_GATEWAY_PORT", str(port + 1))),
            database_url=env.get("BOARDCAST_DATABASE_URL", "sqlite+aiosqlite:///./boardcast.db"),
            amqp_url=env.get("BOARDCAST_AMQP_URL") or None,
            redis_url=env.get("BOARDCAST_REDIS_URL") or None,
            jwt_secret=env.get("BOARDCAST_JWT_SECRET") or DEV_SECRET,
            seed=env.get("BOARDCAST_DEV_SEED", "1") not in ("0", "false", "no"),
        )

    def common(self) -> dict[str, Any]:
        origins = [f"http://{h}:{self.port}" for h in {self.host, "127.0.0.1", "localhost"}]
        return {
            "env": "dev",
            "host": self.host,
            "amqp_url": self.amqp_url,
            "redis_url": self.redis_url,
            "jwt_secret": self.jwt_secret,
            "allowed_origins": origins,
        }


def path_router(default: Any, prefixes: dict[str, Any]) -> Any:
    """One ASGI app that hands each request to the service owning its path prefix."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        for prefix, target in prefixes.items():
            if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
                await target(scope, receive, send)
                return
        await default(scope, receive, send)

    return app


@asynccontextmanager
async def services(cfg: DevConfig) -> AsyncIterator[tuple[Any, Any]]:
    """Build and start every service on shared embedded adapters; yield (http app, gateway)."""
    import cache_invalidator.app as invalidator_app
    import gateway_ws.app as gateway_app
    import notifier.app as notifier_app
    import tasks_api.app as tasks_app
    from boardcast_messaging import create_broker
    from cache_invalidator.settings import Settings as InvalidatorSettings
    from gateway_ws.settings import Settings as GatewaySettings
    from notifier.settings import Settings as NotifierSettings
    from redis.asyncio import Redis
    from tasks_api.settings import Settings as TasksSettings

    async with AsyncExitStack() as stack:
        broker = create_broker(cfg.amqp_url, service="dev")
        await broker.start()
        stack.push_async_callback(broker.stop)
        if cfg.redis_url:
            redis: Any = Redis.from_url(cfg.redis_url)
        else:
            import fakeredis

            redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
        stack.push_async_callback(redis.aclose)

        common = cfg.common()
        ws_url = f"ws://{cfg.host}:{cfg.gateway_port}"
        base_url = f"http://{cfg.host}:{cfg.port}"
        notifier = notifier_app.create_app(
            NotifierSettings(**common, port=cfg.port, database_url=cfg.database_url),
            broker=broker,
            redis=redis,
        )
        invalidator = invalidator_app.create_app(
            InvalidatorSettings(**common, port=cfg.port), broker=broker, redis=redis
        )
        tasks = tasks_app.create_app(
            TasksSettings(**common, port=cfg.port, database_url=cfg.database_url, public_ws_url=ws_url),
            broker=broker,
            redis=redis,
        )
        gateway = gateway_app.create_gateway(
            GatewaySettings(
                **common, port=cfg.gateway_port, tasks_api_url=base_url, notifier_url=base_url, instance="dev"
            ),
            broker=broker,
            redis=redis,
        )
        # Consumers first: their queues must exist before tasks-api publishes (publishes are mandatory).
        for app in (notifier, invalidator):
            await stack.enter_async_context(app.router.lifespan_context(app))
        await gateway.start()
        stack.push_async_callback(gateway.stop)
        await stack.enter_async_context(tasks.router.lifespan_context(tasks))
        if cfg.seed:
            from tasks_api.demo import seed_demo

            logins = await seed_demo(tasks)
            show_logins(cfg, logins)
        yield path_router(tasks, {"/api/notifications": notifier}), gateway


def show_logins(cfg: DevConfig, logins: Any) -> None:
    table = Table(title="demo logins")
    for column in ("name", "email", "password", "role"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.name, login.email, login.password, login.role)
    console.print(table)


class _QuietServer(uvicorn.Server):
    """uvicorn minus its signal handling: this runner owns SIGINT/SIGTERM and stops every service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def main() -> None:
    cfg = DevConfig.from_env()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with services(cfg) as (http_app, _gateway):
        config = uvicorn.Config(http_app, host=cfg.host, port=cfg.port, lifespan="off", log_level="warning")
        server = _QuietServer(config)
        serving = asyncio.create_task(server.serve())
        console.print(
            f"[bold green]Boardcast dev[/] — http://{cfg.host}:{cfg.port}   "
            f"(WebSocket gateway ws://{cfg.host}:{cfg.gateway_port})   Ctrl-C to stop"
        )
        await asyncio.wait([serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
