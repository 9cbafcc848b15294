"""Demo data for ``make dev``: a demo admin, two demo users, a demo project with tasks and subtasks.

``await seed_demo(app)`` runs inside a started app (after its lifespan began), so the demo's events go through
the outbox and relay like any other. It is idempotent: a second call only returns the logins.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from boardcast_contracts import Priority, Role, TaskStatus
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tasks_api.accounts_admin import grant_admin
from tasks_api.db.engine import build_engine, build_sessionmaker
from tasks_api.db.models import User
from tasks_api.handlers import projects, tasks
from tasks_api.handlers.users import create_user
from tasks_api.outbox.tx import Tx
from tasks_api.schemas import ProjectCreate, TaskCreate
from tasks_api.security import Passwords
from tasks_api.settings import Settings


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    name: str
    role: str  # "admin" or "user"


DEMO_LOGINS = (
    DemoLogin("admin@demo.boardcast.dev", "demo-admin-pass", "Ada Admin", "admin"),
    DemoLogin("ben@demo.boardcast.dev", "demo-ben-pass", "Ben Builder", "user"),
    DemoLogin("cleo@demo.boardcast.dev", "demo-cleo-pass", "Cleo Coder", "user"),
)


async def seed_demo(app: FastAPI) -> list[DemoLogin]:
    """Seed through a started tasks-api app; returns the demo logins (email/password)."""
    services = app.state.services
    return await _seed(services.sessions, services.passwords, services.tx)


async def seed_demo_database(settings: Settings) -> list[DemoLogin]:
    """Seed straight into the configured database (a running relay publishes the events on its next poll)."""
    engine = build_engine(settings.database_url, pool_size=1)
    try:
        return await _seed(build_sessionmaker(engine), Passwords(settings), Tx)
    finally:
        await engine.dispose()


async def _seed(
    sessions: async_sessionmaker[AsyncSession], passwords: Passwords, tx: Callable[[AsyncSession], Tx]
) -> list[DemoLogin]:
    async with sessions() as session:
        if await session.scalar(select(User.id).where(User.email == DEMO_LOGINS[0].email)) is not None:
            return list(DEMO_LOGINS)
    ids: list[uuid.UUID] = []
    for login in DEMO_LOGINS:
        async with sessions() as session:
            user = await create_user(tx(session), passwords, login.email, login.name, login.password)
            ids.append(user.id)
            if login.role == "admin":
                fresh = await session.get(User, user.id)
                assert fresh is not None
                t = tx(session)
                await grant_admin(t, fresh)
                await t.commit()
    admin, ben, cleo = ids
    async with sessions() as session:
        project = await projects.create_project(
            tx(session), admin, ProjectCreate(name="Demo board", description="A board to try Boardcast on")
        )
    for user_id, role in ((ben, Role.editor), (cleo, Role.editor)):
        async with sessions() as session:
            await projects.add_member(tx(session), admin, project.id, user_id, role)
    today = datetime.now(UTC).date()
    plan = [
        ("Design the landing page", TaskStatus.in_progress, ben, 6.0, 2, Priority.high),
        ("Set up CI", TaskStatus.done, cleo, 3.0, -2, Priority.medium),
        ("Write the API docs", TaskStatus.todo, cleo, 8.0, 5, Priority.medium),
        ("Fix login redirect", TaskStatus.blocked, ben, 2.0, -1, Priority.urgent),
        ("Plan the release", TaskStatus.todo, admin, 4.0, 9, Priority.low),
    ]
    parents: list[uuid.UUID] = []
    for title, status, assignee, hours, due_in, priority in plan:
        async with sessions() as session:
            task = await tasks.create_task(
                tx(session),
                admin,
                project.id,
                TaskCreate(
                    title=title,
                    status=status,
                    assignee_id=assignee,
                    estimate_hours=hours,
                    due_date=today + timedelta(days=due_in),
                    priority=priority,
                    blocker_reason="Waiting for the identity provider"
                    if status == TaskStatus.blocked
                    else None,
                ),
            )
            parents.append(task.id)
    for parent, title, assignee in (
        (parents[0], "Hero section", ben),
        (parents[0], "Pricing table", cleo),
        (parents[2], "Document the task endpoints", cleo),
    ):
        async with sessions() as session:
            await tasks.create_task(
                tx(session),
                admin,
                project.id,
                TaskCreate(title=title, parent_id=parent, assignee_id=assignee, estimate_hours=2.0),
            )
    return list(DEMO_LOGINS)
