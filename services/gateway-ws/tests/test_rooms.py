"""Rooms on real Redis: hello, live order, resume with since, resync, presence, revocation and expiry."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from boardcast_testkit import eventually
from gwtesting import (
    Client,
    FakeMembership,
    GatewayFactory,
    comment_deleted,
    member_removed,
    new_id,
    open_client,
    open_members,
    role_changed,
    task_created,
    token,
)

pytestmark = pytest.mark.redis


async def _ingest(gw, pid: str, seqs) -> None:  # type: ignore[no-untyped-def]
    for seq in seqs:
        await gw.ingest.ingest(comment_deleted(pid, seq))


async def test_hello_then_live_events_in_order(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, range(1, 4))
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    await eventually(lambda: _async(bool(client.frames)), what="hello")
    hello = client.frames[0]
    assert hello["type"] == "hello" and hello["project_id"] == pid and hello["seq"] == 3
    assert hello["instance"] == "gw-1"
    assert [p["user_id"] for p in hello["presence"]] == [uid]
    await _ingest(gw, pid, range(4, 30))
    await eventually(lambda: _async(client.seqs() == list(range(4, 30))), what="live 4..29")
    await client.close()


async def test_since_replays_then_goes_live_without_gap_or_repeat(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, range(1, 51))

    # Events keep arriving while the client connects and replays.
    async def writer() -> None:
        for seq in range(51, 301):
            await gw.ingest.ingest(comment_deleted(pid, seq))  # type: ignore[union-attr]
            if seq % 10 == 0:
                await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    clients = []
    for since in (0, 10, 49, 50):
        clients.append((since, await open_client(gw, f"/ws/projects/{pid}?since={since}", user_id=uid)))
    await task
    for since, client in clients:
        await eventually(lambda c=client: _async(c.seqs()[-1:] == [300]), what=f"since={since} reaches 300")
        assert client.seqs() == list(range(since + 1, 301)), f"since={since}"
        assert client.frames[0]["type"] == "hello"
        await client.close()


async def test_since_ahead_of_room_drops_older_live_events(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, range(1, 3))
    client = await open_client(gw, f"/ws/projects/{pid}?since=5", user_id=uid)
    await eventually(lambda: _async(bool(client.frames)), what="hello")
    await _ingest(gw, pid, range(3, 9))
    await eventually(lambda: _async(client.seqs() == [6, 7, 8]), what="only seq > since")
    await client.close()


async def test_resync_required_when_history_no_longer_reaches_back(
    gateways: GatewayFactory, membership: FakeMembership, redis_client, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, range(1, 21))
    await redis_client.xtrim(f"{prefix}:room:{pid}:stream", minid="11-0", approximate=False)
    ok = await open_client(gw, f"/ws/projects/{pid}?since=10", user_id=uid)
    gone = await open_client(gw, f"/ws/projects/{pid}?since=5", user_id=uid)
    await eventually(lambda: _async(ok.seqs() == list(range(11, 21))), what="since=10 replays 11..20")
    await eventually(lambda: _async(bool(gone.of_type("resync_required"))), what="resync")
    assert gone.of_type("resync_required")[0]["seq"] == 20
    assert gone.seqs() == []
    await _ingest(gw, pid, [21])
    await eventually(lambda: _async(gone.seqs() == [21]), what="live after resync")
    await ok.close()
    await gone.close()


async def test_gap_at_ingest_resets_history_so_resume_across_it_resyncs(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, [1, 2, 3, 7, 8])
    across = await open_client(gw, f"/ws/projects/{pid}?since=2", user_id=uid)
    after = await open_client(gw, f"/ws/projects/{pid}?since=7", user_id=uid)
    await eventually(lambda: _async(bool(across.of_type("resync_required"))), what="resync across the hole")
    await eventually(lambda: _async(after.seqs() == [8]), what="resume after the hole")
    assert across.seqs() == []
    await across.close()
    await after.close()


async def test_duplicates_are_dropped_at_ingest(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    await eventually(lambda: _async(bool(client.frames)), what="hello")
    first = comment_deleted(pid, 1)
    assert await gw.ingest.ingest(first) == "added"  # type: ignore[union-attr]
    assert await gw.ingest.ingest(first) == "duplicate"  # type: ignore[union-attr]
    assert await gw.ingest.ingest(comment_deleted(pid, 1)) == "duplicate"  # type: ignore[union-attr]
    await _ingest(gw, pid, [2])
    await eventually(lambda: _async(client.seqs() == [1, 2]), what="each seq once")
    await client.close()


async def test_presence_across_replicas(gateways: GatewayFactory, membership: FakeMembership) -> None:
    a, b = await gateways(), await gateways()
    pid, alice, bob = new_id(), new_id(), new_id()
    membership.add(pid, alice)
    membership.add(pid, bob)
    ca = await open_client(a, f"/ws/projects/{pid}", tok=token(alice, "Alice"))
    await eventually(lambda: _async(bool(ca.frames)), what="alice hello")
    cb = await open_client(b, f"/ws/projects/{pid}", tok=token(bob, "Bob"))
    await eventually(lambda: _async(bool(cb.frames)), what="bob hello")
    assert {p["name"] for p in cb.frames[0]["presence"]} == {"Alice", "Bob"}

    def names(c: Client) -> set[str]:
        last = c.of_type("presence")
        return {p["name"] for p in last[-1]["presence"]} if last else set()

    await eventually(lambda: _async(names(ca) == {"Alice", "Bob"}), what="alice sees bob join")
    await cb.close()
    await eventually(lambda: _async(names(ca) == {"Alice"}), what="alice sees bob leave")
    await ca.close()


async def test_crashed_replica_users_disappear(
    gateways: GatewayFactory, membership: FakeMembership, redis_client, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    a = await gateways()
    pid, alice = new_id(), new_id()
    membership.add(pid, alice)
    ca = await open_client(a, f"/ws/projects/{pid}", tok=token(alice, "Alice"))
    await eventually(lambda: _async(bool(ca.frames)), what="hello")
    # A replica that died without saying goodbye left this entry behind; nobody refreshes it.
    await redis_client.zadd(f"{prefix}:room:{pid}:presence", {f"{new_id()}\tdead-replica\tGhost": 1e10})
    await redis_client.zadd(f"{prefix}:room:{pid}:presence", {f"{new_id()}\tdead-replica\tZombie": 0})
    ghost_key = f"{prefix}:room:{pid}:presence"
    # Make the ghost expire soon (as if its replica stopped refreshing two seconds ago).
    members = await redis_client.zrange(ghost_key, 0, -1)
    ghost = next(m for m in members if m.endswith(b"Ghost"))
    await redis_client.zadd(ghost_key, {ghost: __import__("time").time() + 0.5})
    await redis_client.publish(f"{prefix}:room:{pid}:live", b"p")

    def names() -> set[str]:
        last = ca.of_type("presence")
        return {p["name"] for p in last[-1]["presence"]} if last else set()

    await eventually(lambda: _async("Ghost" in names()), what="ghost visible")
    await eventually(lambda: _async(names() == {"Alice"}), timeout=5, what="ghost pruned by refresh")
    await ca.close()


async def test_member_removed_revokes_on_every_replica_within_a_second(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    a, b = await gateways(), await gateways()
    pid, victim, other = new_id(), new_id(), new_id()
    membership.add(pid, victim)
    membership.add(pid, other)
    clients = [
        await open_client(a, f"/ws/projects/{pid}", user_id=victim),
        await open_client(b, f"/ws/projects/{pid}", user_id=victim),
    ]
    bystander = await open_client(b, f"/ws/projects/{pid}", user_id=other)
    for c in [*clients, bystander]:
        await eventually(lambda c=c: _async(bool(c.frames)), what="hello")
    membership.remove(pid, victim)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await a.ingest.ingest(member_removed(pid, 1, victim))  # type: ignore[union-attr]
    await a.ingest.ingest(comment_deleted(pid, 2))  # type: ignore[union-attr]
    for c in clients:
        assert await c.wait_closed(timeout=1.0) == 4403
        assert c.of_type("access_revoked"), c.frames
        assert 2 not in c.seqs()
    assert loop.time() - started < 1.0
    await eventually(lambda: _async(bystander.seqs() == [1, 2]), what="others carry on")
    # Reconnecting right away, even with a stale positive membership answer, is refused.
    membership.add(pid, victim)
    again = await open_client(a, f"/ws/projects/{pid}", user_id=victim)
    assert await again.wait_closed() == 4403
    await bystander.close()


async def test_role_change_applies_at_once(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid, "owner")
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    await eventually(lambda: _async(bool(client.frames)), what="hello")
    assert client.frames[0]["role"] == "owner"
    await gw.ingest.ingest(role_changed(pid, 1, uid, "viewer", "owner"))  # type: ignore[union-attr]
    await eventually(lambda: _async(client.seqs() == [1]), what="event delivered")
    room = gw.sessions.rooms[pid]  # type: ignore[union-attr]
    assert {p.role for p in room.peers} == {"viewer"}
    await client.close()


async def test_expired_token_closes_4401(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    client = await open_client(gw, f"/ws/projects/{pid}", tok=token(uid, ttl=1.2))
    await eventually(lambda: _async(bool(client.frames)), what="hello")
    assert await client.wait_closed(timeout=4) == 4401


async def test_a_fresh_token_over_the_socket_keeps_it_open(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    """``{"type":"auth","token":...}`` with a newer token of the same user moves the socket's expiry; another
    user's token, or a bad one, closes 4401. Rooms and the notifications socket alike."""
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    room = await open_client(gw, f"/ws/projects/{pid}", tok=token(uid, ttl=1.2))
    bell = await open_client(gw, "/ws/notifications", tok=token(uid, ttl=1.2))
    for c in (room, bell):
        await eventually(lambda c=c: _async(bool(c.frames)), what="first frame")
        await c.ws.send(json.dumps({"type": "auth", "token": token(uid, ttl=60)}))
        await eventually(lambda c=c: _async(bool(c.of_type("auth_ok"))), what="auth_ok")
        assert c.of_type("auth_ok")[0]["exp"] > time.time() + 30
    await asyncio.sleep(2.5)  # past the first token's expiry and a sweep
    for c in (room, bell):
        await c.ws.send('{"type":"ping"}')
        await eventually(lambda c=c: _async(bool(c.of_type("pong"))), what="still open")
    await room.ws.send(json.dumps({"type": "auth", "token": token(new_id(), ttl=60)}))
    assert await room.wait_closed(timeout=4) == 4401
    await bell.ws.send(json.dumps({"type": "auth", "token": "not-a-jwt"}))
    assert await bell.wait_closed(timeout=4) == 4401


async def test_cross_project_isolation(gateways: GatewayFactory, membership: FakeMembership) -> None:
    import random

    a, b = await gateways(), await gateways()
    rng = random.Random(7)
    projects = [new_id() for _ in range(4)]
    users = [new_id() for _ in range(8)]
    clients: list[tuple[str, Client]] = []
    for user in users:
        mine = rng.sample(projects, 2)
        for pid in mine:
            membership.add(pid, user)
        for pid in projects:
            gw = rng.choice([a, b])
            c = await open_client(gw, f"/ws/projects/{pid}", user_id=user)
            clients.append((pid if pid in mine else "", c))
    for pid in projects:
        await _ingest(a, pid, range(1, 6))
    for pid, c in clients:
        if pid:
            await eventually(lambda c=c: _async(c.seqs() == [1, 2, 3, 4, 5]), what="member gets its room")
            assert {e["project_id"] for e in c.events()} == {pid}
        else:
            assert await c.wait_closed() == 4403
            assert c.events() == []
    for _, c in clients:
        await c.close()


async def _async(value):  # type: ignore[no-untyped-def]
    return value


_ = task_created


async def test_one_subscription_per_room_and_unsubscribe_after_last_leaves(
    gateways: GatewayFactory, membership: FakeMembership, redis_client, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    gw = await gateways()
    pid = new_id()
    channel = f"{prefix}:room:{pid}:live"
    clients = await open_members(gw, membership, pid, 5)

    async def subscribers() -> int:
        return int(dict(await redis_client.pubsub_numsub(channel))[channel.encode()])

    assert await subscribers() == 1, "one upstream subscription for five local sockets"
    for c in clients:
        await c.close()
    await eventually(lambda: _async(pid not in gw.sessions.rooms), timeout=6, what="room dropped")  # type: ignore[union-attr]
    await eventually(lambda: subscribers_is_zero(subscribers), timeout=6, what="unsubscribed upstream")


async def subscribers_is_zero(read) -> bool:  # type: ignore[no-untyped-def]
    return await read() == 0


async def test_a_burst_is_batched_and_each_peer_gets_exactly_its_part(
    gateways: GatewayFactory, membership: FakeMembership, redis_client, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    from gateway_ws.store import live_message

    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    await _ingest(gw, pid, [1, 2])
    everyone = await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    ahead = await open_client(gw, f"/ws/projects/{pid}?since=5", user_id=uid)
    for c in (everyone, ahead):
        await eventually(lambda c=c: _async(bool(c.frames)), what="hello")
    # Seq 3..8 land in Redis in one transaction, so the replica reads them as one backlog.
    pipe = redis_client.pipeline(transaction=True)
    for seq in range(3, 9):
        payload = comment_deleted(pid, seq).model_dump_json().encode()
        pipe.xadd(f"{prefix}:room:{pid}:stream", {"e": payload, "t": 0}, id=f"{seq}-0")
        pipe.publish(f"{prefix}:room:{pid}:live", live_message(seq, 0, "comment_deleted", payload))
    pipe.set(f"{prefix}:room:{pid}:last", 8)
    await pipe.execute()
    await eventually(lambda: _async(everyone.seqs() == [3, 4, 5, 6, 7, 8]), what="whole burst")
    await eventually(lambda: _async(ahead.seqs() == [6, 7, 8]), what="only after since")
    await everyone.close()
    await ahead.close()
