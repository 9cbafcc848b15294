"""The Node load generator against real peers on Redis: it counts every delivery and reads the marker."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid

import pytest
from bench.events import EventFactory
from bench.gateway.run import closed_loop, open_loop
from bench.gateway.systems import NaivePeer, NodeSioPeer, System, emitter_message
from bench.loadgen import NODE_DIR, LoadGen, ensure_node_modules

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@pytest.mark.redis
@pytest.mark.parametrize("peer", [NaivePeer, NodeSioPeer])  # raw WebSocket and socket.io wire
async def test_every_message_reaches_every_socket_and_is_timed(peer: type[System], redis_url: str) -> None:
    ensure_node_modules()
    system = peer(redis_url)
    await system.start()
    try:
        room = system.new_room()
        lg = await LoadGen.start(f"test-{system.key}", system.targets(room, 20), protocol=system.protocol)
        try:
            assert (await lg.connected(timeout=30))["ok"] == 20
            await system.settle(lg, room)
            factory = EventFactory(system.room_project(room))
            steady = await open_loop(system, lg, room, factory, rate=20, duration=0.5)
            assert steady["received"] == steady["expected"] == 10 * 20
            assert steady["samples"] == 10 * 2  # every 10th socket is timed
            assert 0 < steady["p50_ms"] < 1000
            loop = await closed_loop(system, lg, room, factory, duration=0.3, window=4)
            assert loop["drained"] and loop["received"] == loop["expected"] > 0
        finally:
            await lg.close()
    finally:
        await system.stop()
    await asyncio.sleep(0)


def test_socketio_messages_are_the_bytes_the_official_emitter_publishes() -> None:
    ensure_node_modules()
    doc = EventFactory(uuid.uuid4()).next()
    script = NODE_DIR / "emitter_bytes.js"
    out = subprocess.run(["node", str(script), "room-1", json.dumps(doc)], capture_output=True, check=True)
    official = json.loads(out.stdout)
    channel, body = emitter_message("room-1", doc)
    assert (channel, body.hex()) == (official["channel"], official["hex"])
