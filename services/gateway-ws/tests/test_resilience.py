"""A Redis connection cut mid-stream heals with no gap and no repeat; notifications feed order and dedupe."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest
from boardcast_contracts.keys import user_channel
from boardcast_testkit import TcpProxy, eventually
from gwtesting import (
    FakeBacklog,
    FakeMembership,
    GatewayFactory,
    comment_deleted,
    new_id,
    open_client,
    open_members,
)

pytestmark = pytest.mark.redis


async def _true(value: object) -> object:
    return value


async def test_redis_cut_mid_stream_heals_without_gap(
    gateways: GatewayFactory, membership: FakeMembership, redis_url: str
) -> None:
    parts = urlsplit(redis_url)
    proxy = await TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    try:
        cut_side = await gateways(redis_url=f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}")
        writer_side = await gateways()
        pid = new_id()
        clients = await open_members(cut_side, membership, pid, 3)

        async def write(seqs: range) -> None:
            for seq in seqs:
                await writer_side.ingest.ingest(comment_deleted(pid, seq))  # type: ignore[union-attr]
                await asyncio.sleep(0.002)

        await write(range(1, 51))
        await eventually(lambda: _true(all(c.seqs()[-1:] == [50] for c in clients)), what="before the cut")
        await proxy.cut()
        await write(range(51, 151))  # published while the cut replica hears nothing
        await proxy.restore()
        await write(range(151, 201))
        for c in clients:
            await eventually(lambda c=c: _true(c.seqs()[-1:] == [200]), timeout=15, what="healed")
            assert c.seqs() == list(range(1, 201))
            assert c.close_code is None
        assert cut_side.metrics.redis_reconnects._value.get() >= 1
        for c in clients:
            await c.close()
    finally:
        await proxy.stop()


async def test_notifications_backlog_then_live_without_duplicates(
    gateways: GatewayFactory, backlog: FakeBacklog, redis_client
) -> None:  # type: ignore[no-untyped-def]
    gw = await gateways()
    uid, other = new_id(), new_id()
    backlog.items[uid] = [
        {"id": "n2", "kind": "mentioned", "created_at": "2026-01-02T00:00:00Z"},
        {"id": "n1", "kind": "task_assigned", "created_at": "2026-01-01T00:00:00Z"},
    ]
    client = await open_client(gw, "/ws/notifications", user_id=uid)
    bystander = await open_client(gw, "/ws/notifications", user_id=other)
    await eventually(lambda: _true(bool(client.frames) and bool(bystander.frames)), what="backlogs")
    first = client.frames[0]
    assert first["type"] == "notifications_backlog"
    assert first["unread_count"] == 2 and [i["id"] for i in first["items"]] == ["n2", "n1"]
    channel = user_channel(uid)  # type: ignore[arg-type]
    for frame in (
        {"type": "notification", "notification": {"id": "n2", "kind": "mentioned"}},  # already in the backlog
        {"type": "notification", "notification": {"id": "n3", "kind": "commented"}},
        {"type": "unread_count", "unread_count": 3},
    ):
        await redis_client.publish(channel, json.dumps(frame))
    await eventually(lambda: _true(len(client.frames) >= 3), what="live frames")
    kinds = [(f["type"], f.get("notification", {}).get("id")) for f in client.frames[1:]]
    assert ("notification", "n3") in kinds and ("unread_count", None) in kinds
    assert ("notification", "n2") not in kinds, "a notification already in the backlog is not sent again"
    assert len(bystander.frames) == 1, "another user's frames never reach this socket"
    await client.close()
    await bystander.close()


async def test_notifications_require_token(gateways: GatewayFactory) -> None:
    gw = await gateways()
    client = await open_client(gw, "/ws/notifications")
    assert await client.wait_closed() == 4401


async def test_junk_on_a_room_channel_is_ignored(
    gateways: GatewayFactory, membership: FakeMembership, redis_client, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    await eventually(lambda: _true(bool(client.frames)), what="hello")
    for junk in (b"e notanumber 0 x\n{}", b"e", b"zzz", b""):
        await redis_client.publish(f"{prefix}:room:{pid}:live", junk)
    await gw.ingest.ingest(comment_deleted(pid, 1))  # type: ignore[union-attr]
    await eventually(lambda: _true(client.seqs() == [1]), what="still live")
    assert gw.metrics.redis_reconnects._value.get() == 0
    await client.close()
