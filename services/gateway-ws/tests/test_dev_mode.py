"""Dev mode (make dev): the in-process broker and fakeredis passed in; no real services needed."""

from __future__ import annotations

import fakeredis
import pytest
from boardcast_messaging import InMemoryBroker
from boardcast_testkit import eventually, unique
from gateway_ws import Settings, create_gateway
from gwtesting import FakeBacklog, FakeMembership, comment_deleted, new_id, open_client, task_created


async def _true(value: object) -> object:
    return value


async def test_dev_mode_end_to_end_on_embedded_adapters() -> None:
    broker = InMemoryBroker(unique("ex"))
    await broker.start()
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    membership = FakeMembership()
    settings = Settings(env="dev", port=0, instance="dev", redis_heartbeat_s=0.5)
    gw = create_gateway(
        settings, broker=broker, redis=redis, membership=membership, notifications_backlog=FakeBacklog()
    )
    await gw.start()
    try:
        pid, uid = new_id(), new_id()
        membership.add(pid, uid)
        client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid, tok=None)
        assert await client.wait_closed() == 4401  # no token, even in dev
        from gwtesting import token

        client = await open_client(gw, f"/ws/projects/{pid}", tok=token(uid, secret=settings.jwt_secret))
        await eventually(lambda: _true(bool(client.frames)), what="hello")
        for seq in range(1, 21):
            event = task_created(pid, seq) if seq % 2 else comment_deleted(pid, seq)
            await broker.publisher.publish_event(event)
        await eventually(
            lambda: _true(client.seqs() == list(range(1, 21))), what="events over the embedded bus"
        )
        resumed = await open_client(
            gw, f"/ws/projects/{pid}?since=15", tok=token(uid, secret=settings.jwt_secret)
        )
        await eventually(lambda: _true(resumed.seqs() == list(range(16, 21))), what="resume on fakeredis")
        await client.close()
        await resumed.close()
    finally:
        await gw.stop()
        await broker.stop()
        await redis.aclose()


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(ValueError, match="BOARDCAST_JWT_SECRET"):
        Settings(env="production", jwt_secret="short")
    with pytest.raises(ValueError, match="BOARDCAST_JWT_SECRET"):
        Settings(env="production", jwt_secret="")
    assert Settings(env="dev").jwt_secret  # dev gets a built-in secret


def test_allowed_origins_from_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOARDCAST_ALLOWED_ORIGINS", "http://a.example, http://b.example/")
    assert Settings(env="dev").allowed_origins == ["http://a.example", "http://b.example"]
    monkeypatch.setenv("BOARDCAST_ALLOWED_ORIGINS", '["http://c.example"]')
    assert Settings(env="dev").allowed_origins == ["http://c.example"]
