"""SPEC §2: a bad or missing setting stops a service at start with one line that names it."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

SERVICES = ["tasks_api", "gateway_ws", "notifier", "cache_invalidator"]
GOOD = {
    "BOARDCAST_ENV": "production",
    "BOARDCAST_JWT_SECRET": "x" * 48,
    "BOARDCAST_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
    "BOARDCAST_REDIS_URL": "redis://127.0.0.1:1/0",
    "BOARDCAST_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
}
CASES = {
    "port": ({"BOARDCAST_PORT": "not-a-port"}, "BOARDCAST_PORT"),
    "placeholder secret": ({"BOARDCAST_JWT_SECRET": "change-me"}, "BOARDCAST_JWT_SECRET"),
    "no broker outside dev": ({"BOARDCAST_AMQP_URL": ""}, "BOARDCAST_AMQP_URL"),
}


async def start(module: str, env: dict[str, str]) -> tuple[int, list[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOARDCAST_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        env=clean | GOOD | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{module} did not stop on a bad setting {env}") from None
    return proc.returncode or 0, [line for line in err.decode().splitlines() if line.strip()]


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_setting_stops_every_service_with_one_line(case: str) -> None:
    env, name = CASES[case]
    if case == "placeholder secret" or name == "BOARDCAST_JWT_SECRET":
        modules = [m for m in SERVICES if m != "cache_invalidator"]  # it verifies no tokens
    else:
        modules = SERVICES
    results = await asyncio.gather(*(start(m, env) for m in modules))
    for module, (code, lines) in zip(modules, results, strict=True):
        assert code != 0, f"{module} started with a bad {name}"
        assert len(lines) == 1, f"{module} printed {len(lines)} lines, not one: {lines[-5:]}"
        assert name in lines[0], f"{module}'s line does not name {name}: {lines[0]}"
