"""The admin command, the demo seed, and the settings refusal at start."""

from __future__ import annotations

import subprocess
import sys

from boardcast_testkit import eventually
from sqlalchemy import select
from tasks_api.cli import app as cli
from tasks_api.db.models import AuditEntry, User
from tasks_api.demo import seed_demo
from typer.testing import CliRunner


async def test_seed_demo_gives_working_logins_and_publishes_its_events(h):
    logins = await seed_demo(h.app)
    assert len(logins) == 3 and [x.role for x in logins].count("admin") == 1
    assert await seed_demo(h.app) == logins  # idempotent
    for login in logins:
        r = await h.client.post("/api/auth/login", json={"email": login.email, "password": login.password})
        assert r.status_code == 200
    admin = next(x for x in logins if x.role == "admin")
    token = (
        await h.client.post("/api/auth/login", json={"email": admin.email, "password": admin.password})
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await h.client.get("/api/me", headers=headers)).json()["is_admin"] is True
    (project,) = (await h.client.get("/api/projects", headers=headers)).json()
    tasks = (await h.client.get(f"/api/projects/{project['id']}/tasks", headers=headers)).json()
    assert len(tasks) == 8 and any(t["subtask_count"] == 2 for t in tasks)

    async def delivered() -> bool:
        return len(h.recorder.of_project(project["id"])) == project["seq"] == 10

    await eventually(delivered)


def test_admin_create_command(sqlite_url, monkeypatch):
    monkeypatch.setenv("BOARDCAST_ENV", "dev")
    monkeypatch.setenv("BOARDCAST_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["admin", "create", "Root@Example.com", "--password", "pw-12345678"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["admin", "create", "root@example.com", "--password", "pw-12345678"])
    assert result.exit_code == 0 and "already an admin" in result.output
    assert runner.invoke(cli, ["admin", "create", "x@example.com", "--password", "short"]).exit_code != 0

    import asyncio

    from tasks_api.db.engine import build_engine, build_sessionmaker

    async def check() -> None:
        engine = build_engine(sqlite_url)
        async with build_sessionmaker(engine)() as session:
            user = await session.scalar(select(User).where(User.email == "root@example.com"))
            assert user is not None and user.is_admin
            audit = (await session.scalars(select(AuditEntry))).all()
            assert [(a.action, a.sensitivity) for a in audit] == [("user.admin_create", "critical")]
        await engine.dispose()

    asyncio.run(check())


def test_placeholder_secret_stops_the_service_with_one_line():
    env = {"BOARDCAST_ENV": "production", "BOARDCAST_JWT_SECRET": "change-me", "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "tasks_api"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("tasks-api: bad setting: BOARDCAST_JWT_SECRET")
