"""`make dev`: every service in one process on embedded defaults — it starts, seeds, serves, pushes, stops."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import httpx
from boardcast_testkit import eventually
from websockets.asyncio.client import connect


async def test_dev_runner_serves_the_board_live_and_stops_cleanly(tmp_path: Path, free_port) -> None:
    port, gw_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDCAST_")}
    env |= {
        "BOARDCAST_PORT": str(port),
        "BOARDCAST_GATEWAY_PORT": str(gw_port),
        "BOARDCAST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        "COLUMNS": "200",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "boardcast_dev",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out: list[str] = []

    async def pump() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            out.append(line.decode(errors="replace"))

    reader = asyncio.create_task(pump())
    try:

        async def banner() -> bool:
            return any("Boardcast dev" in line for line in out)

        await eventually(banner, timeout=90, what="the dev banner")
        logins = re.findall(r"(\S+@demo\.boardcast\.dev)\s*│\s*(\S+)", "".join(out))
        assert len(logins) >= 3, "".join(out)
        email, password = logins[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            assert (await api.get("/readyz")).status_code == 200
            assert (await api.get("/")).status_code == 200  # the page
            token = (await api.post("/api/auth/login", json={"email": email, "password": password})).json()[
                "access_token"
            ]
            auth = {"Authorization": f"Bearer {token}"}
            projects = (await api.get("/api/projects", headers=auth)).json()
            assert projects, "demo data seeded"
            project = projects[0]
            assert (await api.get("/api/config")).json()["ws_url"] == f"ws://127.0.0.1:{gw_port}"
            # As the page does: resume from the seq the board was loaded at. The demo seeding's last events
            # may still be on their way into the room (the relay batches while busy): hello may be behind.
            since = project["seq"]
            url = f"ws://127.0.0.1:{gw_port}/ws/projects/{project['id']}?token={token}&since={since}"
            async with connect(url, open_timeout=10) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert hello["type"] == "hello" and 0 < hello["seq"] <= since
                r = await api.post(
                    f"/api/projects/{project['id']}/tasks", json={"title": "live"}, headers=auth
                )
                assert r.status_code == 201, r.text
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if frame.get("type") == "task_created":
                        break
                assert frame["seq"] == since + 1  # nothing at or below since again, nothing skipped
                assert frame["data"]["task"]["id"] == r.json()["id"]
            notes = await api.get("/api/notifications/unread-count", headers=auth)
            assert notes.status_code == 200 and "unread_count" in notes.json()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        reader.cancel()
