"""The relay on its own: a project stuck on a failing publish neither blocks the others nor loses order."""

from __future__ import annotations

import uuid

from boardcast_messaging import PublishError
from boardcast_testkit import eventually
from sqlalchemy import func, select
from tasks_api.db.engine import build_engine, build_sessionmaker
from tasks_api.db.models import OutboxRow, Project, User
from tasks_api.observability import Metrics
from tasks_api.outbox.relay import Relay
from tasks_api.outbox.tx import Tx


class FlakyPublisher:
    """Confirms everything except routing keys of ``broken`` projects, which fail until ``heal()``."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.published: list[tuple[str, str]] = []

    async def publish(self, routing_key: str, body: bytes, *, message_id: str, headers=None) -> None:
        if routing_key.split(".")[1] in self.broken:
            raise PublishError("unroutable")
        self.published.append((routing_key, message_id))

    async def publish_event(self, event) -> None:  # pragma: no cover - not used by the relay
        raise NotImplementedError


async def _seed(sessions, n_projects: int, per_project: int) -> list[uuid.UUID]:
    from boardcast_contracts import MemberRemovedData

    async with sessions() as session:
        user = User(id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.io", name="u", password_hash="x")
        projects = [
            Project(id=uuid.uuid4(), name="p", description="", last_seq=0, created_by=user.id)
            for _ in range(n_projects)
        ]
        session.add(user)
        await session.flush()
        session.add_all(projects)
        await session.commit()
    for _ in range(per_project):
        for p in projects:
            async with sessions() as session:
                tx = Tx(session)
                tx.emit("member_removed", p.id, user.id, MemberRemovedData(user_id=user.id))
                await tx.commit()
    return [p.id for p in projects]


async def test_a_stuck_project_does_not_starve_the_others(sqlite_url):
    engine = build_engine(sqlite_url)
    sessions = build_sessionmaker(engine)
    publisher = FlakyPublisher()
    relay = Relay(engine, lambda: publisher, Metrics(), batch_size=8, poll_seconds=0.05)
    try:
        ids = sorted(await _seed(sessions, 3, 10), key=lambda u: u.hex)
        stuck, *others = ids  # the stuck project sorts first: it would fill every batch if nothing capped it
        publisher.broken.add(str(stuck))
        relay.start()

        async def others_done() -> bool:
            return sum(1 for rk, _ in publisher.published if str(stuck) not in rk) == 20

        await eventually(others_done, what="the healthy projects drained despite the stuck one")
        assert not any(str(stuck) in rk for rk, _ in publisher.published)
        publisher.broken.clear()

        async def all_done() -> bool:
            async with sessions() as session:
                pending = await session.scalar(select(func.count()).where(OutboxRow.published_at.is_(None)))
            return pending == 0

        await eventually(all_done, timeout=15, what="the stuck project drained once healed")
        async with sessions() as session:
            order = {
                row.event_id: row.seq
                for row in (await session.execute(select(OutboxRow.event_id, OutboxRow.seq))).all()
            }
        for project in (stuck, *others):
            seqs = [order[uuid.UUID(mid)] for rk, mid in publisher.published if str(project) in rk]
            assert seqs == list(range(1, 11))
    finally:
        await relay.stop(0)
        await engine.dispose()
