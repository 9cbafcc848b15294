"""Every close code of SPEC §5, the HTTP edge, limits, junk frames and floods, and tokens kept out of logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import pytest
from boardcast_testkit import eventually
from gwtesting import (
    FakeMembership,
    GatewayFactory,
    comment_deleted,
    new_id,
    open_client,
    open_members,
    token,
)
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.redis


async def _true(value: object) -> object:
    return value


async def _member_client(gw, membership: FakeMembership, **kw):  # type: ignore[no-untyped-def]
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid, **kw)
    await eventually(lambda: _true(bool(client.frames)), what="hello")
    return pid, uid, client


async def test_refusals_4401_and_4403(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    cases = {
        "no token": (await open_client(gw, f"/ws/projects/{pid}"), 4401),
        "bad signature": (
            await open_client(gw, f"/ws/projects/{pid}", tok=token(uid, secret="x" * 40)),
            4401,
        ),
        "expired": (await open_client(gw, f"/ws/projects/{pid}", tok=token(uid, ttl=-5)), 4401),
        "garbage": (await open_client(gw, f"/ws/projects/{pid}", tok="not.a.jwt"), 4401),
        "not a member": (await open_client(gw, f"/ws/projects/{new_id()}", user_id=uid), 4403),
    }
    for what, (client, code) in cases.items():
        assert await client.wait_closed() == code, what
        assert client.frames == [], what


async def test_token_as_bearer_subprotocol(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    tok = token(uid)
    client = await open_client(gw, f"/ws/projects/{pid}", subprotocols=["boardcast.v1", f"bearer.{tok}"])
    await eventually(lambda: _true(bool(client.frames)), what="hello")
    assert client.ws.subprotocol == "boardcast.v1"
    assert client.frames[0]["type"] == "hello"
    await client.close()


async def test_origin_allowlist(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    with pytest.raises(InvalidStatus) as refused:
        await open_client(gw, f"/ws/projects/{pid}", user_id=uid, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    client = await open_client(gw, f"/ws/projects/{pid}", user_id=uid, origin="http://good.example")
    await eventually(lambda: _true(bool(client.frames)), what="hello from allowed origin")
    await client.close()


async def test_ping_pong_and_unknown_type(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    _, _, client = await _member_client(gw, membership)
    await client.ws.send('{"type":"ping"}')
    await client.ws.send('{"type":"subscribe_everything"}')
    await eventually(lambda: _true(bool(client.of_type("pong"))), what="pong")
    await eventually(lambda: _true(bool(client.of_type("error"))), what="error")
    assert client.of_type("error")[0]["code"] == "unknown_type"
    await client.ws.send('{"type":"ping"}')
    await eventually(lambda: _true(len(client.of_type("pong")) == 2), what="still open")
    await client.close()


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        (b"\x00\x01binary", False),
        (b"\xff\xfe not utf-8", True),
        (b"{not json", True),
        (b"[1, 2, 3]", True),
        (b'{"type": 5}', True),
        (b"x" * (64 * 1024 + 1), True),
    ],
    ids=["binary", "invalid-utf8", "malformed-json", "not-object", "bad-type", "over-64KiB"],
)
async def test_junk_frames_close_1008_and_replica_survives(
    gateways: GatewayFactory, membership: FakeMembership, frame: bytes, text: bool
) -> None:
    gw = await gateways()
    _, _, client = await _member_client(gw, membership)
    await client.ws.send(frame, text=text)
    assert await client.wait_closed() == 1008
    _, _, healthy = await _member_client(gw, membership)
    await healthy.ws.send('{"type":"ping"}')
    await eventually(lambda: _true(bool(healthy.of_type("pong"))), what="replica still serves")
    await healthy.close()


async def test_flood_closes_1008(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways(rate_limit_per_s=5, rate_limit_burst=10)
    _, _, client = await _member_client(gw, membership)
    for _ in range(200):
        try:
            await client.ws.send('{"type":"ping"}')
        except Exception:
            break
    assert await client.wait_closed() == 1008


async def test_connection_limits(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways(max_connections_per_user=2, max_connections=3)
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    first = [await open_client(gw, f"/ws/projects/{pid}", user_id=uid) for _ in range(2)]
    for c in first:
        await eventually(lambda c=c: _true(bool(c.frames)), what="hello")
    with pytest.raises(InvalidStatus) as per_user:
        await open_client(gw, f"/ws/projects/{pid}", user_id=uid)
    assert per_user.value.response.status_code == 429
    other = new_id()
    membership.add(pid, other)
    third = await open_client(gw, f"/ws/projects/{pid}", user_id=other)
    await eventually(lambda: _true(bool(third.frames)), what="third")
    with pytest.raises(InvalidStatus) as per_replica:
        await open_client(gw, f"/ws/projects/{pid}", user_id=new_id())
    assert per_replica.value.response.status_code == 503
    for c in [*first, third]:
        await c.close()


async def test_the_per_user_limit_counts_every_replica(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    """A user over the limit is refused on any replica; a socket closed anywhere frees a place everywhere."""
    a = await gateways(max_connections_per_user=2)
    b = await gateways(max_connections_per_user=2)
    pid, uid = new_id(), new_id()
    membership.add(pid, uid)
    on_a = await open_client(a, f"/ws/projects/{pid}", user_id=uid)
    on_b = await open_client(b, f"/ws/projects/{pid}", user_id=uid)
    for c in (on_a, on_b):
        await eventually(lambda c=c: _true(bool(c.frames)), what="hello")
    for gw in (a, b):  # each replica holds only one of the user's sockets, yet both refuse a third
        with pytest.raises(InvalidStatus) as refused:
            await open_client(gw, "/ws/notifications", user_id=uid)
        assert refused.value.response.status_code == 429
    other = new_id()
    membership.add(pid, other)
    someone_else = await open_client(a, f"/ws/projects/{pid}", user_id=other)  # the limit is per user
    await eventually(lambda: _true(bool(someone_else.frames)), what="another user's hello")
    await on_b.close()

    async def a_place_is_free() -> bool:
        try:
            again = await open_client(a, f"/ws/projects/{pid}", user_id=uid)
        except InvalidStatus:
            return False
        await eventually(lambda: _true(bool(again.frames)), what="hello again")
        await again.close()
        return True

    await eventually(a_place_is_free, what="the closed socket's place given back")
    for c in (on_a, someone_else):
        await c.close()


async def test_a_crashed_replicas_connections_lapse(redis_url: str, prefix: str) -> None:
    from gateway_ws.store import RoomStore
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        store = RoomStore(redis, prefix)
        user = new_id()
        assert await store.claim_connection(user, "gone#1", 2, ttl_s=0.3)
        assert await store.claim_connection(user, "gone#2", 2, ttl_s=0.3)
        assert not await store.claim_connection(user, "live#1", 2, ttl_s=5)
        assert await redis.zcard(store.user_conns_key(user)) == 2  # the refused one took its entry back
        await asyncio.sleep(0.4)  # nobody refreshed gone#*: that replica is dead
        assert await store.claim_connection(user, "live#1", 2, ttl_s=5)
        await store.refresh_connections({user: ["live#1"]}, ttl_s=5)
        await store.release_connection(user, "live#1")
        assert await redis.zcard(store.user_conns_key(user)) == 0
    finally:
        await redis.aclose()


async def test_health_ready_metrics(gateways: GatewayFactory, membership: FakeMembership) -> None:
    gw = await gateways()
    pid, _, client = await _member_client(gw, membership)
    await gw.ingest.ingest(comment_deleted(pid, 1))  # type: ignore[union-attr]
    await eventually(lambda: _true(client.seqs() == [1]), what="delivered")
    base = f"http://127.0.0.1:{gw.port}"
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        metrics = (await http.get("/metrics")).text
        assert (await http.get("/nope")).status_code == 404
    for name in (
        "gateway_open_connections 1.0",
        "gateway_rooms 1.0",
        "gateway_events_ingested_total 1.0",
        "gateway_messages_delivered_total 1.0",
        "gateway_fanout_latency_seconds_count 1.0",
        "gateway_slow_consumer_closes_total",
        "gateway_resumes_total",
        "gateway_resyncs_total",
    ):
        assert name in metrics, name
    await client.close()


async def test_readyz_names_what_is_down(gateways: GatewayFactory) -> None:
    gw = await gateways(ingest_enabled=True, amqp_url="amqp://guest:guest@127.0.0.1:1/")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}") as http:
        response = await http.get("/readyz")
    assert response.status_code == 503 and "broker" in response.text


async def test_drain_closes_1012_spread_and_refuses_new(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways(drain_window_s=1.0)
    pid = new_id()
    clients = await open_members(gw, membership, pid, 6)
    loop = asyncio.get_running_loop()
    closed_at: list[float] = []

    async def watch(c) -> None:  # type: ignore[no-untyped-def]
        await c.wait_closed(timeout=10)
        closed_at.append(loop.time())

    watchers = [asyncio.create_task(watch(c)) for c in clients]
    drain = asyncio.create_task(gw.drain())
    await asyncio.gather(*watchers)
    assert {c.close_code for c in clients} == {1012}
    assert max(closed_at) - min(closed_at) > 0.4, "closes spread over the window"
    await drain
    with pytest.raises(OSError):
        await connect(f"{gw.url}/ws/projects/{pid}", open_timeout=2)


async def test_slow_reader_closed_1013_others_keep_up(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways(send_buffer_limit=64 * 1024)
    pid, fast_uid, slow_uid = new_id(), new_id(), new_id()
    membership.add(pid, fast_uid)
    membership.add(pid, slow_uid)
    fast = await open_client(gw, f"/ws/projects/{pid}", user_id=fast_uid)
    # The slow client never reads: a raw websockets connection whose frames we leave in the kernel.
    slow_ws = await connect(
        f"{gw.url}/ws/projects/{pid}?token={token(slow_uid)}", max_queue=1, compression=None
    )
    slow_ws.transport.pause_reading()  # type: ignore[attr-defined]
    await eventually(lambda: _true(bool(fast.frames)), what="hello")
    big = "x" * 8000
    loop = asyncio.get_running_loop()
    latencies = []
    seq = 0
    while gw.metrics.slow_consumer_closes._value.get() == 0 and seq < 4000:
        seq += 1
        event = comment_deleted(pid, seq)
        await gw.ingest.store.append(  # type: ignore[union-attr]
            pid,
            seq,
            "comment_deleted",
            0,
            event.model_dump_json().replace('"data"', f'"pad":"{big}","data"').encode(),
        )
        if seq % 50 == 0:
            t0 = loop.time()
            await eventually(
                lambda s=seq: _true(fast.seqs()[-1:] == [s]), interval=0.002, what="fast keeps up"
            )
            latencies.append(loop.time() - t0)
    assert gw.metrics.slow_consumer_closes._value.get() == 1, f"not closed after {seq} events"
    assert max(latencies) < 0.5
    # After the close the fast client still gets everything, in order.
    for extra in range(seq + 1, seq + 20):
        await gw.ingest.ingest(comment_deleted(pid, extra))  # type: ignore[union-attr]
    await eventually(lambda: _true(fast.seqs() == list(range(1, seq + 20))), what="fast complete")
    slow_ws.transport.resume_reading()  # type: ignore[attr-defined]
    with pytest.raises(Exception):  # noqa: B017 - any ConnectionClosed; we check the code below
        while True:
            await asyncio.wait_for(slow_ws.recv(), 10)
    assert slow_ws.close_code == 1013
    await fast.close()


async def test_tokens_never_logged(
    gateways: GatewayFactory, membership: FakeMembership, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gw = await gateways()
    pid, uid = new_id(), new_id()
    tok = token(uid)
    membership.add(pid, uid)
    for path in (f"/ws/projects/{pid}?token={tok}", f"/ws/projects/{new_id()}?token={tok}"):
        ws = await connect(f"{gw.url}{path}", compression=None)
        with contextlib.suppress(Exception):
            await ws.send(b"\xff", text=True)
        with pytest.raises(Exception):  # noqa: B017
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    with pytest.raises(InvalidStatus):
        await connect(f"{gw.url}/ws/projects/{pid}?token={tok}&since=bad")
    assert tok not in caplog.text
    assert tok.split(".")[2] not in caplog.text


async def test_server_pings_and_drops_a_silent_peer(
    gateways: GatewayFactory, membership: FakeMembership
) -> None:
    gw = await gateways(ping_interval_s=0.3, ping_timeout_s=0.6)
    pid, uid, alive = await _member_client(gw, membership)
    # A raw peer that completes the handshake and then never answers anything (pings included).
    _reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(
        (
            f"GET /ws/projects/{pid}?token={token(uid)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()

    async def dropped() -> bool:
        return gw.metrics.closes.labels("1011")._value.get() >= 1

    await eventually(dropped, timeout=5, what="silent peer closed 1011")
    await asyncio.sleep(0)  # let the responsive client's pongs through; it must still be open
    assert alive.close_code is None and gw.connections
    await alive.ws.send('{"type":"ping"}')
    await eventually(lambda: _true(bool(alive.of_type("pong"))), what="responsive client still served")
    writer.close()
    await alive.close()
