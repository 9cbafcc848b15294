"""`make stack`: the distributed topology as separate processes against local RabbitMQ, Redis and PostgreSQL.

tasks-api :8000, gateway-ws :8001 and :8011, notifier :8002, cache-invalidator :8003 — each its own process,
as they would run in containers. Logs are prefixed with the process name; Ctrl-C (or SIGTERM) drains and stops
them all, gateways first so their clients get 1012 and resume elsewhere. The `Stack` class is also what the
end-to-end and reliability tests and the benchmarks use to start, kill and restart the same processes.
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
COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "red"]


@dataclass
class Proc:
    name: str
    module: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def default_ports(base: int = 8000) -> dict[str, int]:
    return {
        "tasks-api": base,
        "gateway-1": base + 1,
        "gateway-2": base + 11,
        "notifier": base + 2,
        "cache-invalidator": base + 3,
    }


async def ensure_database(url: str) -> None:
    """Create the stack's PostgreSQL database if it does not exist (migrations then make its schema)."""
    import asyncpg

    parts = urlsplit(url.replace("postgresql+asyncpg", "postgresql"))
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


class Stack:
    """The five processes of the distributed mode, started in dependency order and stopped in drain order."""

    def __init__(
        self,
        ports: dict[str, int] | None = None,
        env: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        quiet: bool = False,
    ) -> None:
        ports = ports or default_ports()
        self.host = host
        self.quiet = quiet
        base = dict(os.environ)
        base.setdefault("BOARDCAST_DATABASE_URL", DEFAULT_DB)
        base.setdefault("BOARDCAST_AMQP_URL", DEFAULT_AMQP)
        base.setdefault("BOARDCAST_REDIS_URL", DEFAULT_REDIS)
        base.setdefault("BOARDCAST_JWT_SECRET", secrets.token_urlsafe(48))
        base["BOARDCAST_ENV"] = base.get("BOARDCAST_ENV", "production")
        api = ports["tasks-api"]
        base.setdefault("BOARDCAST_ALLOWED_ORIGINS", f"http://{host}:{api},http://localhost:{api}")
        base.setdefault("BOARDCAST_TASKS_API_URL", f"http://{host}:{api}")
        base.setdefault("BOARDCAST_NOTIFIER_URL", f"http://{host}:{ports['notifier']}")
        base.setdefault("BOARDCAST_PUBLIC_WS_URL", f"ws://{host}:{ports['gateway-1']}")
        base.update(env or {})
        self.env = base
        # Consumers before tasks-api: their queues must exist before it publishes (publishes are mandatory).
        self.procs: dict[str, Proc] = {
            "notifier": Proc("notifier", "notifier", ports["notifier"]),
            "cache-invalidator": Proc("cache-invalidator", "cache_invalidator", ports["cache-invalidator"]),
            "gateway-1": Proc(
                "gateway-1", "gateway_ws", ports["gateway-1"], {"BOARDCAST_INSTANCE": "gateway-1"}
            ),
            "gateway-2": Proc(
                "gateway-2", "gateway_ws", ports["gateway-2"], {"BOARDCAST_INSTANCE": "gateway-2"}
            ),
            "tasks-api": Proc("tasks-api", "tasks_api", api),
        }
        self.output: dict[str, list[str]] = {name: [] for name in self.procs}

    @property
    def jwt_secret(self) -> str:
        return self.env["BOARDCAST_JWT_SECRET"]

    def url(self, name: str) -> str:
        return self.procs[name].url

    async def _pump(self, proc: Proc, colour: str) -> None:
        assert proc.process is not None and proc.process.stdout is not None
        lines = self.output[proc.name]
        while line := await proc.process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            lines.append(text)
            del lines[:-2000]
            if not self.quiet:
                console.print(f"[{colour}]{proc.name:>17}[/] {text}", highlight=False, markup=False)

    async def start_one(self, name: str, *, timeout: float = 60.0) -> None:
        proc = self.procs[name]
        env = self.env | proc.env | {"BOARDCAST_HOST": self.host, "BOARDCAST_PORT": str(proc.port)}
        proc.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            proc.module,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        colour = COLOURS[list(self.procs).index(name) % len(COLOURS)]
        proc.pump = asyncio.create_task(self._pump(proc, colour))
        if not await self.wait_ready(name, timeout=timeout):
            tail = "\n".join(self.output[name][-30:])
            raise RuntimeError(f"{name} did not become ready on :{proc.port}\n{tail}")

    async def wait_ready(self, name: str, *, timeout: float = 60.0) -> bool:
        proc = self.procs[name]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if proc.process is not None and proc.process.returncode is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{proc.url}/readyz")).status_code == 200:
                        return True
                await asyncio.sleep(0.2)
        return False

    async def start(self) -> Stack:
        url = self.env["BOARDCAST_DATABASE_URL"]
        if url.startswith("postgresql"):
            await ensure_database(url)
        for name in self.procs:
            await self.start_one(name)
        return self

    async def stop_one(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        proc = self.procs[name]
        if proc.process is None:
            return None
        if proc.process.returncode is None:
            proc.process.send_signal(sig)
            try:
                await asyncio.wait_for(proc.process.wait(), timeout)
            except TimeoutError:
                proc.process.kill()
                await proc.process.wait()
        if proc.pump is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(proc.pump, 2)
        return proc.process.returncode

    async def kill(self, name: str) -> None:
        """SIGKILL: the crash case, no drain, no flush."""
        await self.stop_one(name, sig=signal.SIGKILL)

    async def restart(self, name: str) -> None:
        await self.stop_one(name)
        await self.start_one(name)

    async def stop(self) -> None:
        # Drain order: gateways (clients resume elsewhere), tasks-api (flushes its relay), then consumers.
        for name in ("gateway-1", "gateway-2", "tasks-api", "notifier", "cache-invalidator"):
            await self.stop_one(name)

    def exited(self) -> list[asyncio.Task[int]]:
        return [asyncio.ensure_future(p.process.wait()) for p in self.procs.values() if p.process]


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(host: str = "127.0.0.1", base_port: int = 8000) -> None:
    """Run the stack until Ctrl-C."""

    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stack = Stack(default_ports(base_port), host=host)
        try:
            await stack.start()
        except RuntimeError as exc:
            console.print(f"[red]{exc}[/]")
            await stack.stop()
            return 1
        ports = default_ports(base_port)
        console.print(
            f"[bold green]stack up[/]: tasks-api http://{host}:{ports['tasks-api']}  gateways "
            f":{ports['gateway-1']} :{ports['gateway-2']}  notifier :{ports['notifier']}  "
            f"cache-invalidator :{ports['cache-invalidator']}"
        )
        console.print("first admin: BOARDCAST_DATABASE_URL=<url> uv run boardcast admin create EMAIL")
        await asyncio.wait(
            [asyncio.ensure_future(stop.wait()), *stack.exited()], return_when=asyncio.FIRST_COMPLETED
        )
        await stack.stop()
        return 0

    raise typer.Exit(asyncio.run(runner()))


if __name__ == "__main__":
    app()
