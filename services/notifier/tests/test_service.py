"""The notifier end to end on the in-process bus, fakeredis and SQLite: rules, idempotency, parking, API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from boardcast_contracts import AccountEvent, ProjectEvent
from boardcast_messaging import InMemoryBroker
from boardcast_testkit import eventually, unique
from fakeredis import FakeAsyncRedis

from .conftest import SECRET, Board, Frames, admin_changed, auth, consumed, token

ALICE, BOB, CAROL, DAVE = (uuid.uuid4() for _ in range(4))


@pytest.fixture
async def bus() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker(unique("ex"), grace=5.0)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
async def fake_redis() -> AsyncIterator[FakeAsyncRedis]:
    redis = FakeAsyncRedis()
    yield redis
    await redis.aclose()


@pytest.fixture
async def running(run_app: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, sqlite_url: str) -> Any:
    return await run_app(
        db_url=sqlite_url,
        queue=unique("notifier"),
        broker=bus,
        redis=fake_redis,
        notifier_retry_delays=[0.1, 0.2],
    )


async def deliver_twice(bus: InMemoryBroker, queue: str, *events: ProjectEvent | AccountEvent) -> None:
    """Publish every event twice (a redelivery or a republish) and wait until all copies are handled."""
    before = consumed(queue)
    for event in events:
        await bus.publisher.publish_event(event)
        await bus.publisher.publish_event(event)

    async def done() -> bool:
        return consumed(queue) - before >= 2 * len(events)

    await eventually(done, what=f"{2 * len(events)} deliveries handled")


async def mine(running: Any, user: uuid.UUID, **params: Any) -> list[dict[str, Any]]:
    r = await running.client.get("/api/notifications", headers=auth(user), params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_every_rule_once_even_when_every_event_is_delivered_twice(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, board: Board
) -> None:
    queue = running.settings.notifier_queue
    frames = await Frames(fake_redis).watch(ALICE, BOB, CAROL, DAVE)
    try:
        task = board.task(created_by=CAROL, title="Fix login")
        await deliver_twice(bus, queue, board.created(CAROL, task))
        assigned = task | {"assignee_id": BOB, "version": 2}
        await deliver_twice(bus, queue, board.assigned(ALICE, assigned))
        await deliver_twice(
            bus,
            queue,
            board.status(BOB, assigned | {"status": "in_progress", "version": 3}),
            board.comment(ALICE, task["id"], [DAVE]),
            board.member_added(ALICE, DAVE),
            admin_changed(ALICE, CAROL, [ALICE, DAVE]),
        )
        await deliver_twice(bus, queue, board.deleted(ALICE, task["id"], [BOB]))

        kinds = {u: sorted(n["kind"] for n in await mine(running, u)) for u in (ALICE, BOB, CAROL, DAVE)}
        assert kinds == {
            ALICE: [],
            BOB: ["commented", "task_assigned", "task_deleted"],
            CAROL: ["task_status_changed"],
            DAVE: ["member_added", "mentioned", "security_alert"],
        }
        bob = await mine(running, BOB)
        assert {n["title"] for n in bob} == {"New comment", "Task assigned to you", "Task deleted"}
        assert all(n["project_id"] == str(board.project_id) and n["read_at"] is None for n in bob)
        assert all(n["created_at"].endswith("Z") and n["actor_id"] == str(ALICE) for n in bob)
        assert next(n for n in bob if n["kind"] == "task_deleted")["body"] == "“Fix login” was deleted."

        async def pushed() -> bool:
            return sorted(frames.kinds(BOB)) == kinds[BOB] and frames.counts(BOB)[-1:] == [3]

        await eventually(pushed, what="Bob's frames")
        assert sorted(frames.kinds(DAVE)) == kinds[DAVE]
        assert frames.kinds(ALICE) == []
        # The live frame is exactly the stored notification.
        live = {
            f["notification"]["id"]: f["notification"] for f in frames.by_user[BOB] if "notification" in f
        }
        assert live == {n["id"]: n for n in bob}
    finally:
        await frames.close()


async def test_malformed_message_is_parked_and_the_consumer_carries_on(
    running: Any, bus: InMemoryBroker, board: Board
) -> None:
    queue = running.settings.notifier_queue
    await bus.publisher.publish(f"project.{board.project_id}.task_assigned", b"{not json", message_id="bad-1")
    await bus.publisher.publish(
        f"project.{board.project_id}.member_added", b'{"type": "nope"}', message_id="b2"
    )
    await deliver_twice(bus, queue, board.member_added(ALICE, BOB))
    assert [n["kind"] for n in await mine(running, BOB)] == ["member_added"]
    parked = await bus.parked(queue)
    assert [p.message_id for p in parked] == ["bad-1", "b2"]
    assert all(p.reason.startswith("malformed") for p in parked)


async def test_push_failure_is_retried_and_the_frames_go_out_once_redis_answers(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, board: Board, monkeypatch: Any
) -> None:
    from notifier.push import Pusher

    real_push = Pusher.push
    calls = {"n": 0}

    async def flaky(self: Pusher, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("redis down")
        await real_push(self, *args)

    monkeypatch.setattr(Pusher, "push", flaky)
    frames = await Frames(fake_redis).watch(BOB)
    try:
        await bus.publisher.publish_event(board.member_added(ALICE, BOB))

        async def pushed() -> bool:
            return frames.kinds(BOB) == ["member_added"]

        await eventually(pushed, what="frames pushed on the retry")
        assert calls["n"] == 2
        assert len(await mine(running, BOB)) == 1
    finally:
        await frames.close()


async def test_a_conflict_that_is_not_the_inbox_key_is_retried_not_acked(
    running: Any, bus: InMemoryBroker, board: Board, monkeypatch: Any
) -> None:
    """E.g. two replicas projecting one new task at once: the loser must retry, not count as a duplicate."""
    from notifier.store import NotificationStore
    from sqlalchemy.exc import IntegrityError

    real_apply = NotificationStore._apply
    calls = {"n": 0}

    async def racing(self: NotificationStore, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise IntegrityError(
                "INSERT INTO notifier_tasks", {}, Exception("duplicate key notifier_tasks_pkey")
            )
        return await real_apply(self, *args)

    monkeypatch.setattr(NotificationStore, "_apply", racing)
    await bus.publisher.publish_event(board.member_added(ALICE, BOB))

    async def notified() -> bool:
        return [n["kind"] for n in await mine(running, BOB)] == ["member_added"]

    await eventually(notified, what="notified on the retry")
    assert calls["n"] == 2


async def test_read_and_read_all_update_the_count_and_push_it(
    running: Any, bus: InMemoryBroker, fake_redis: FakeAsyncRedis, board: Board
) -> None:
    queue = running.settings.notifier_queue
    await deliver_twice(bus, queue, *(board.member_added(ALICE, BOB) for _ in range(3)))
    frames = await Frames(fake_redis).watch(BOB)
    try:
        c = running.client
        assert (await c.get("/api/notifications/unread-count", headers=auth(BOB))).json() == {
            "unread_count": 3
        }
        first = (await mine(running, BOB, unread="true", limit=1))[0]
        r = await c.post(f"/api/notifications/{first['id']}/read", headers=auth(BOB))
        assert r.status_code == 200 and r.json()["read_at"] is not None
        again = await c.post(f"/api/notifications/{first['id']}/read", headers=auth(BOB))
        assert again.json()["read_at"] == r.json()["read_at"]
        assert len(await mine(running, BOB, unread="true")) == 2
        assert len(await mine(running, BOB)) == 3
        r = await c.post("/api/notifications/read-all", headers=auth(BOB))
        assert r.json() == {"marked": 2, "unread_count": 0}

        async def pushed() -> bool:
            return frames.counts(BOB) == [2, 0]

        await eventually(pushed, what="unread-count frames")
    finally:
        await frames.close()


async def test_endpoints_need_a_valid_token_and_show_only_your_own(
    running: Any, bus: InMemoryBroker, board: Board
) -> None:
    await deliver_twice(bus, running.settings.notifier_queue, board.member_added(ALICE, BOB))
    c = running.client
    theirs = (await mine(running, BOB))[0]["id"]
    bad_tokens = [
        None,
        "Bearer not-a-jwt",
        f"Bearer {token(BOB, secret='another-secret-of-enough-length-1234567890')}",
        f"Bearer {token(BOB, ttl=-60)}",
        f"Bearer {token(BOB, sub='not-a-uuid')}",
        f"Basic {token(BOB)}",
    ]
    for header in bad_tokens:
        headers = {"Authorization": header} if header else {}
        for method, path in [
            ("GET", "/api/notifications"),
            ("GET", "/api/notifications/unread-count"),
            ("POST", f"/api/notifications/{theirs}/read"),
            ("POST", "/api/notifications/read-all"),
        ]:
            r = await c.request(method, path, headers=headers)
            assert r.status_code == 401, (header, path, r.text)
            assert "detail" in r.json()
    assert (await c.post(f"/api/notifications/{theirs}/read", headers=auth(CAROL))).status_code == 404
    assert (await c.post(f"/api/notifications/{uuid.uuid4()}/read", headers=auth(BOB))).status_code == 404
    assert (await c.post("/api/notifications/nope/read", headers=auth(BOB))).status_code == 422
    for limit in ("0", "201", "x"):
        r = await c.get("/api/notifications", headers=auth(BOB), params={"limit": limit})
        assert r.status_code == 422
    assert await mine(running, CAROL) == []
    # Carol's read-all touched nothing of Bob's.
    await c.post("/api/notifications/read-all", headers=auth(CAROL))
    assert (await mine(running, BOB))[0]["read_at"] is None


async def test_health_readiness_and_metrics(running: Any, bus: InMemoryBroker, board: Board) -> None:
    c = running.client
    assert (await c.get("/healthz")).status_code == 200
    assert (await c.get("/readyz")).json() == {"status": "ready"}
    await deliver_twice(bus, running.settings.notifier_queue, board.member_added(ALICE, BOB))
    text = (await c.get("/metrics")).text
    assert f'boardcast_messages_consumed_total{{queue="{running.settings.notifier_queue}"}}' in text
    assert 'boardcast_notifier_notifications_total{kind="member_added"}' in text
    await bus.stop()
    r = await c.get("/readyz")
    assert r.status_code == 503 and r.json() == {"detail": "not ready: broker"}


def test_settings_refuse_a_placeholder_secret_outside_dev() -> None:
    from notifier import Settings
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="jwt_secret"):
        Settings(
            env="production",
            jwt_secret="change-me",
            database_url="sqlite+aiosqlite://",
            amqp_url="amqp://x",
            redis_url="redis://x",
        )
    with pytest.raises(ValidationError, match="redis_url"):
        Settings(env="production", jwt_secret=SECRET, database_url="sqlite+aiosqlite://", amqp_url="amqp://x")
    with pytest.raises(ValidationError, match="NOTIFIER_DATABASE_URL"):
        Settings(env="production", jwt_secret=SECRET, amqp_url="amqp://x", redis_url="redis://x")
    dev = Settings(
        env="dev", jwt_secret=SECRET, database_url="sqlite+aiosqlite:///x.db", notifier_database_url=None
    )
    assert dev.db_url == "sqlite+aiosqlite:///x.db" and dev.amqp_url is None


async def test_an_older_task_version_arriving_late_does_not_roll_the_projection_back(
    running: Any, bus: InMemoryBroker, board: Board
) -> None:
    from boardcast_contracts import TaskUpdated

    queue = running.settings.notifier_queue
    task = board.task(assignee_id=BOB, created_by=CAROL, title="Old title", version=2)

    def updated(version: int, title: str) -> TaskUpdated:
        return TaskUpdated.model_validate(
            board._env(ALICE)
            | {"data": {"task": task | {"version": version, "title": title}, "changed": ["title"]}}
        )

    await deliver_twice(bus, queue, updated(3, "New title"))
    await deliver_twice(bus, queue, updated(2, "Old title"))
    await deliver_twice(bus, queue, board.deleted(ALICE, task["id"], [BOB]))
    assert [n["body"] for n in await mine(running, BOB)] == ["“New title” was deleted."]
