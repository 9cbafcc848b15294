"""PostgreSQL + RabbitMQ: seq under concurrent writers, a broker outage, two relays on one outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest
from boardcast_messaging import create_broker
from boardcast_testkit import TcpProxy, eventually, unique
from sqlalchemy import select
from tasks_api.db.engine import build_engine
from tasks_api.db.models import OutboxRow
from tasks_api.observability import Metrics
from tasks_api.outbox.relay import Relay

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]


async def _outbox(url: str) -> list[OutboxRow]:
    engine = build_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(OutboxRow).order_by(OutboxRow.id))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_concurrent_writers_get_contiguous_seq_in_commit_order(hpg, migrated_pg):
    h = hpg
    owner = await h.api.user()
    p = await h.api.project(owner)
    tasks = [await h.api.task(owner, p) for _ in range(4)]

    async def write(i: int) -> int:
        t = tasks[i % 4]
        r = await h.client.patch(
            f"/api/tasks/{t['id']}", json={"description": f"d{i}"}, headers=owner["headers"]
        )
        return r.status_code

    codes = await asyncio.gather(*(write(i) for i in range(40)))
    codes += await asyncio.gather(
        *(
            h.client.post(f"/api/projects/{p['id']}/tasks", json={"title": f"n{i}"}, headers=owner["headers"])
            for i in range(20)
        )
    )  # type: ignore[arg-type]
    assert all((c if isinstance(c, int) else c.status_code) in (200, 201) for c in codes)
    rows = [r for r in await _outbox(migrated_pg) if str(r.project_id) == p["id"]]
    assert sorted(r.seq for r in rows) == list(range(1, 65))
    # Rows are inserted while the project's seq row is locked, so insertion order is seq order.
    assert [r.seq for r in rows] == list(range(1, 65))

    async def delivered() -> list:
        events = h.recorder.of_project(p["id"])
        return events if len(events) >= 64 else []

    events = await eventually(delivered, timeout=20)
    assert [e.seq for e in events] == list(range(1, 65))
    got = (await h.client.get(f"/api/projects/{p['id']}", headers=owner["headers"])).json()
    assert got["seq"] == 64
    # Every write of one task's version went through; the last version of each task counts its updates.
    versions = [
        (await h.client.get(f"/api/tasks/{t['id']}", headers=owner["headers"])).json()["version"]
        for t in tasks
    ]
    assert versions == [11, 11, 11, 11]


async def test_relay_catches_up_after_a_broker_outage_in_order_and_once(migrated_pg, amqp_url, harness):
    """Cut the app's broker connection, keep writing, restore it: every event arrives, in order, once."""
    target = urlsplit(amqp_url)
    proxy = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5672).start()
    via_proxy = amqp_url.replace(target.netloc.split("@")[-1], proxy.url_host_port)
    settings = make_settings_like(migrated_pg, via_proxy)
    try:
        async with harness(settings, amqp_url=amqp_url) as h:
            owner = await h.api.user()
            p = await h.api.project(owner)
            await h.api.task(owner, p)

            async def first() -> bool:
                return len(h.recorder.of_project(p["id"])) == 1

            await eventually(first, what="first event before the outage")
            await proxy.cut()

            async def broker_down() -> bool:
                r = await h.client.get("/readyz")
                return r.status_code == 503 and "broker" in r.json()["down"]

            await eventually(broker_down, timeout=15, what="readyz reports the broker down")
            for _ in range(10):
                await h.api.task(owner, p)  # writes succeed while the broker is unreachable
            metrics = (await h.client.get("/metrics")).text
            backlog = next(
                line for line in metrics.splitlines() if line.startswith("boardcast_outbox_backlog ")
            )
            assert float(backlog.split()[1]) >= 10
            assert "boardcast_outbox_oldest_age_seconds" in metrics
            await proxy.restore()

            async def all_arrived() -> list:
                events = h.recorder.of_project(p["id"])
                return events if len({e.event_id for e in events}) == 11 else []

            events = await eventually(all_arrived, timeout=30, what="backlog published after restore")
            seen: set[uuid.UUID] = set()
            deduped = [e for e in events if not (e.event_id in seen or seen.add(e.event_id))]
            assert [e.seq for e in deduped] == list(range(1, 12))
            rows = await _outbox(migrated_pg)
            assert all(r.published_at is not None for r in rows)

            async def ready_again() -> bool:
                return (await h.client.get("/readyz")).status_code == 200

            await eventually(ready_again, timeout=15)
    finally:
        await proxy.stop()


def make_settings_like(database_url: str, amqp_url: str):
    from tasks_api.settings import Settings

    return Settings(
        env="dev",
        database_url=database_url,
        amqp_url=amqp_url,
        exchange=unique("ex"),
        migrate_on_start=False,
        relay_poll_seconds=0.2,
        argon2_time_cost=1,
        argon2_memory_kib=64,
    )


async def test_two_relays_on_one_outbox_publish_each_row_once_in_order(hpg, migrated_pg, amqp_url):
    """Rows written with the app's relay off are drained by two competing relays."""
    h = hpg
    services = h.app.state.services
    await services.relay.stop(0)  # the app's own relay steps aside; two fresh ones compete
    services.relay = None
    owner = await h.api.user()
    projects = [await h.api.project(owner) for _ in range(3)]
    for _ in range(15):
        for p in projects:
            await h.api.task(owner, p)
    assert all(r.published_at is None for r in await _outbox(migrated_pg))

    brokers, relays, engines = [], [], []
    for i in range(2):
        broker = create_broker(amqp_url, exchange=h.settings.exchange, service=f"relay-{i}")
        await broker.start()
        engine = build_engine(migrated_pg, pool_size=2)
        relay = Relay(engine, lambda b=broker: b.publisher, Metrics(), batch_size=7, poll_seconds=0.05)
        brokers.append(broker)
        engines.append(engine)
        relays.append(relay)
    for relay in relays:
        relay.start()
    try:

        async def drained() -> bool:
            return len(h.recorder.events) >= 45 and all(r.published_at for r in await _outbox(migrated_pg))

        await eventually(drained, timeout=30)
    finally:
        for relay in relays:
            await relay.stop(0)
        for broker in brokers:
            await broker.stop()
        for engine in engines:
            await engine.dispose()
    counts = Counter(e.event_id for e in h.recorder.events)
    assert len(counts) == 45 and set(counts.values()) == {1}
    for p in projects:
        assert [e.seq for e in h.recorder.of_project(p["id"])] == list(range(1, 16))
    published_by = [r._metrics.events_published._value.get() for r in relays]
    assert sum(published_by) == 45, published_by
    print("published per relay:", published_by)


async def test_concurrent_if_match_writers_one_wins(hpg):
    """Two editors PATCH the same version at once: the row lock makes exactly one of them win."""
    h = hpg
    owner = await h.api.user()
    p = await h.api.project(owner)
    t = await h.api.task(owner, p)
    headers = {**owner["headers"], "If-Match": '"1"'}
    results = await asyncio.gather(
        *(h.client.patch(f"/api/tasks/{t['id']}", json={"title": f"v{i}"}, headers=headers) for i in range(6))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409, 409, 409]
    winner = next(r.json() for r in results if r.status_code == 200)
    assert all(r.json()["task"]["title"] == winner["title"] for r in results if r.status_code == 409)
