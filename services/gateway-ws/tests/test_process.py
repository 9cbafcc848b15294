"""``python -m gateway_ws`` as a process: a bad setting is refused in one line; readiness; SIGTERM drain."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx
import pytest
from boardcast_testkit import eventually, unique
from gwtesting import SECRET


async def _run(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway_ws",
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_bad_setting_stops_with_one_line_naming_it() -> None:
    proc = await _run({"BOARDCAST_ENV": "production", "BOARDCAST_JWT_SECRET": "short"})
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "BOARDCAST_JWT_SECRET" in lines[0], err.decode()


@pytest.mark.redis
async def test_process_serves_and_drains_on_sigterm(free_port, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    proc = await _run(
        {
            "BOARDCAST_ENV": "production",
            "BOARDCAST_JWT_SECRET": SECRET,
            "BOARDCAST_REDIS_URL": redis_url,
            "BOARDCAST_INGEST_ENABLED": "false",
            "BOARDCAST_PORT": str(port),
            "BOARDCAST_REDIS_PREFIX": unique("gwproc"),
            "BOARDCAST_DRAIN_WINDOW_S": "0.2",
        }
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, timeout=30, what="readyz 200")
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
