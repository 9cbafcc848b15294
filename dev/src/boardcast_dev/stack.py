"""`make stack`: the distributed topology as separate processes against local RabbitMQ, Redis and PostgreSQL.

tasks-api :8000, gateway-ws :8001 and :8011, notifier :8002, cache-invalidator :8003 — each its own process,
exactly as they would run in containers. Logs are prefixed with the process name; Ctrl-C (or SIGTERM) drains
and stops them all, gateways first so their clients get 1012 and can resume elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
import typer
from rich.console import Console

console = Console(stderr=True)

DEFAULT_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/boardcast"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Proc:
    name: str
    module: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None


def topology(host: str, base_port: int = 8000) -> list[Proc]:
    return [
        Proc("notifier", "notifier", base_port + 2),
        Proc("cache-invalidator", "cache_invalidator", base_port + 3),
        Proc("gateway-1", "gateway_ws", base_port + 1, {"BOARDCAST_INSTANCE": "gateway-1"}),
        Proc("gateway-2", "gateway_ws", base_port + 11, {"BOARDCAST_INSTANCE": "gateway-2"}),
        Proc("tasks-api", "tasks_api", base_port),
    ]


async def ensure_database(url: str) -> None:
    """Create the stack's PostgreSQL database if it does not exist (migrations then make its schema)."""
    import asyncpg

    parts = urlsplit(url.replace("postgresql+asyncpg", "postgresql"))
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
            console.print(f"created database {name}")
    finally:
        await admin.close()


async def _pump(proc: Proc, stream: asyncio.StreamReader, colour: str) -> None:
    while line := await stream.readline():
        console.print(f"[{colour}]{proc.name:>17}[/] {line.decode(errors='replace').rstrip()}", highlight=False)


async def wait_ready(client: httpx.AsyncClient, url: str, timeout: float = 60.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(url)).status_code == 200:
                return True
        await asyncio.sleep(0.25)
    return False


async def run_stack(host: str, base_port: int, env_extra: dict[str, str], stop: asyncio.Event) -> int:
    env = dict(os.environ)
    env.setdefault("BOARDCAST_DATABASE_URL", DEFAULT_DB)
    env.setdefault("BOARDCAST_AMQP_URL", DEFAULT_AMQP)
    env.setdefault("BOARDCAST_REDIS_URL", DEFAULT_REDIS)
    env.setdefault("BOARDCAST_JWT_SECRET", secrets.token_urlsafe(48))
    env.setdefault("BOARDCAST_ENV", "production")
    env.setdefault(
        "BOARDCAST_ALLOWED_ORIGINS", f"http://{host}:{base_port},http://localhost:{base_port}"
    )
    env.setdefault("BOARDCAST_TASKS_API_URL", f"http://{host}:{base_port}")
    env.setdefault("BOARDCAST_NOTIFIER_URL", f"http://{host}:{base_port + 2}")
    env.setdefault("BOARDCAST_PUBLIC_WS_URL", f"ws://{host}:{base_port + 1}")
    env.update(env_extra)
    await ensure_database(env["BOARDCAST_DATABASE_URL"])

    procs = topology(host, base_port)
    colours = ["cyan", "magenta", "green", "yellow", "blue", "red"]
    pumps: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(timeout=2.0) as client:
        for i, proc in enumerate(procs):
            penv = env | proc.env | {"BOARDCAST_HOST": host, "BOARDCAST_PORT": str(proc.port)}
            proc.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", proc.module, env=penv,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            assert proc.process.stdout is not None
            pumps.append(asyncio.create_task(_pump(proc, proc.process.stdout, colours[i % len(colours)])))
            # Consumers first and ready before tasks-api publishes: their queues must exist (mandatory publish).
            if not await wait_ready(client, f"http://{host}:{proc.port}/readyz"):
                console.print(f"[red]{proc.name} did not become ready on :{proc.port}[/]")
                stop.set()
                break
        else:
            console.print(
                f"[bold green]stack up[/]: tasks-api http://{host}:{base_port}  gateways :{base_port + 1} "
                f":{base_port + 11}  notifier :{base_port + 2}  cache-invalidator :{base_port + 3}"
            )
            console.print("create an admin: BOARDCAST_DATABASE_URL=... uv run boardcast admin create EMAIL")
        exits = [asyncio.create_task(p.process.wait()) for p in procs if p.process]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *exits], return_when=asyncio.FIRST_COMPLETED)
    # Drain: gateways first (clients resume elsewhere), then the API (flushes its relay), then consumers.
    order = sorted(procs, key=lambda p: (not p.module.startswith("gateway"), p.module != "tasks_api"))
    for proc in order:
        if proc.process and proc.process.returncode is None:
            proc.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.process.wait(), 30)
            except TimeoutError:
                proc.process.kill()
    for task in pumps:
        task.cancel()
    return max((p.process.returncode or 0) for p in procs if p.process)


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(host: str = "127.0.0.1", base_port: int = 8000) -> None:
    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_stack(host, base_port, {}, stop)

    raise typer.Exit(asyncio.run(runner()))


if __name__ == "__main__":
    app()
