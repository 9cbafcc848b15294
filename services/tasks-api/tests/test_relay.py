"""The relay on its own: a project stuck on a failing publish neither blocks the others nor loses order."""

from __future__ import annotations

import uuid

import pytest
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

    def __init__(self, log: list[tuple[str, str]] | None = None) -> None:
        self.broken: set[str] = set()
        self.published: list[tuple[str, str]] = []
        self.log = log if log is not None else []  # shared between publishers: the global publish order

    async def publish(self, routing_key: str, body: bytes, *, message_id: str, headers=None) -> None:
        if routing_key.split(".")[1] in self.broken:
            raise PublishError("unroutable")
        self.published.append((routing_key, message_id))
        self.log.append((routing_key, message_id))

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "migrated_pg")
    return url


async def test_a_stuck_project_does_not_starve_the_others(db_url):
    engine = build_engine(db_url)
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


@pytest.mark.postgres
async def test_two_relays_share_one_outbox_without_duplicates(migrated_pg):
    """Two relays (two engines, as two replicas would have) drain one outbox: each row once, order kept."""
    engines = [build_engine(migrated_pg, pool_size=2) for _ in range(2)]
    sessions = build_sessionmaker(engines[0])
    log: list[tuple[str, str]] = []
    publishers = [FlakyPublisher(log), FlakyPublisher(log)]
    relays = [
        Relay(e, lambda p=p: p, Metrics(), batch_size=6, poll_seconds=0.02)
        for e, p in zip(engines, publishers, strict=True)
    ]
    try:
        projects = await _seed(sessions, 4, 12)
        for relay in relays:
            relay.start()

        async def drained() -> bool:
            return sum(len(p.published) for p in publishers) >= 48

        await eventually(drained, timeout=20)
        everything = [m for _, m in log]
        assert len(everything) == len(set(everything)) == 48
        async with sessions() as session:
            seq_of = {
                str(row.event_id): row.seq
                for row in (await session.execute(select(OutboxRow.event_id, OutboxRow.seq))).all()
            }
        for project in projects:
            # Across both relays, a project's events went out in seq order: a relay claims a project only
            # after the other's claim committed with its rows marked.
            assert [seq_of[m] for rk, m in log if str(project) in rk] == list(range(1, 13))
    finally:
        for relay in relays:
            await relay.stop(0)
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_a_relay_outclaimed_on_every_project_steps_back_then_publishes(migrated_pg):
    """Another relay holding every pending project: this one's pass publishes nothing and it yields; once
    the locks are gone its next pass takes the rows (none lost, none twice)."""
    from sqlalchemy import text

    engine = build_engine(migrated_pg, pool_size=3)
    sessions = build_sessionmaker(engine)
    publisher = FlakyPublisher()
    relay = Relay(engine, lambda: publisher, Metrics(), batch_size=50, poll_seconds=0.05)
    try:
        projects = await _seed(sessions, 2, 3)
        async with engine.connect() as other, other.begin():
            for pid in projects:  # what a second relay's claim takes
                await other.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, hashtext(:p))"), {"ns": 0x0B0A, "p": str(pid)}
                )
            assert await relay.drain_once() == 0
            assert relay._outclaimed and publisher.published == []
        assert await relay.drain_once() == 6
        assert not relay._outclaimed
        assert len({m for _, m in publisher.published}) == 6
    finally:
        await engine.dispose()


def _admin(user_id: uuid.UUID):  # type: ignore[no-untyped-def]
    from boardcast_contracts import AdminChangedData

    return AdminChangedData(user_id=user_id, is_admin=True, admin_ids=[user_id])


async def test_account_rows_go_out_when_due_and_on_the_poll(db_url):
    """Account events (no project) are looked for after a commit that wrote one and once per poll interval,
    so rows another replica wrote still go out; a failed publish leaves them due."""
    engine = build_engine(db_url, pool_size=3)
    sessions = build_sessionmaker(engine)
    publisher = FlakyPublisher()
    relay = Relay(engine, lambda: publisher, Metrics(), batch_size=50, poll_seconds=1.0)

    async def commit_account_event(wake: bool) -> None:
        async with sessions() as session:
            tx = Tx(session, on_commit=(lambda events: relay.wake(account=True)) if wake else None)
            tx.emit("admin_changed", None, user.id, _admin(user.id))
            await tx.commit()

    try:
        async with sessions() as session:
            user = User(id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@x.io", name="u", password_hash="x")
            session.add(user)
            await session.commit()
        await commit_account_event(wake=False)  # as a commit on another replica: nobody wakes this relay
        assert await relay.drain_once() == 1  # the first pass looks (rows left from before)
        await commit_account_event(wake=True)
        assert await relay.drain_once() == 1  # woken for an account row
        publisher.broken.add("admin_changed")
        await commit_account_event(wake=True)
        with pytest.raises(PublishError):
            await relay.drain_once()
        publisher.broken.clear()
        assert await relay.drain_once() == 1  # still due: the failed pass did not publish it
        await commit_account_event(wake=False)
        assert await relay.drain_once() == 0  # not due: nobody said so, and the poll interval has not passed
        relay.start()  # within a poll interval the loop looks again

        async def published() -> bool:
            return len(publisher.published) == 4

        await eventually(published, timeout=5, what="the unannounced account row published by the poll")
    finally:
        await relay.stop(0)
        await engine.dispose()


async def test_prune_deletes_only_published_rows_past_the_retention(db_url):
    from datetime import timedelta

    from sqlalchemy import update
    from tasks_api.db.models import utcnow

    engine = build_engine(db_url, pool_size=3)
    sessions = build_sessionmaker(engine)
    relay = Relay(engine, FlakyPublisher, Metrics(), batch_size=50, retention_seconds=3600)
    try:
        await _seed(sessions, 2, 5)  # 10 rows, all pending
        async with sessions() as session:
            ids = list(await session.scalars(select(OutboxRow.id).order_by(OutboxRow.id)))
            old, recent = utcnow() - timedelta(hours=2), utcnow() - timedelta(minutes=5)
            await session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids[:4])).values(published_at=old))
            await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids[4:7])).values(published_at=recent)
            )
            await session.commit()
        assert await relay.prune(batch=2) == 4  # in batches of 2, oldest first
        async with sessions() as session:
            left = list(await session.scalars(select(OutboxRow.id).order_by(OutboxRow.id)))
        assert left == ids[4:]  # recent published rows and every pending row stay
        assert await relay.prune() == 0
    finally:
        await engine.dispose()
