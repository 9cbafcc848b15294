"""The fan-out systems under test: how to start each, where its sockets connect, how a message enters a room.

Every system gets its messages through Redis pub/sub, published the way that system's own ingest path expects
(our gateway: what its RabbitMQ ingest writes; socket.io peers: their adapter's channel), so the benchmark
compares fan-out with fan-out.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from abc import ABC, abstractmethod
from typing import Any

import msgpack
import socketio
from redis.asyncio import Redis

from bench.loadgen import NODE_DIR, LoadGen, Target
from bench.peers.naive import CHANNEL_PREFIX
from bench.procs import Proc, free_port, python_module


class System(ABC):
    """One system under test. ``server`` is the fan-out process whose CPU and memory are measured."""

    key: str
    label: str
    protocol = "raw"

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.port = free_port()
        self.procs: list[Proc] = []
        self.server: Proc | None = None

    metrics_url: str | None = None
    """Where the server publishes its own fan-out latency histogram, if it has one (ours does)."""
    latency_metric = "gateway_fanout_latency_seconds"

    def new_room(self) -> str:
        return str(uuid.uuid4())

    def room_project(self, room: str) -> uuid.UUID:
        """The project id the room's events carry (rooms are project ids for every system)."""
        return uuid.UUID(room)

    async def settle(self, lg: LoadGen, room: str) -> None:
        """Let connection-time traffic (welcome frames, joins) die down before measuring."""
        await asyncio.sleep(1.0)

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    def targets(self, room: str, count: int) -> list[Target]: ...

    @abstractmethod
    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        """Put one message into ``room`` through Redis pub/sub, the way this system is fed."""

    async def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, argv, env=env)
        self.procs.append(proc)
        return proc


class NaivePeer(System):
    """Peer (a): FastAPI, one Redis subscription per socket, json.loads + send_json per socket."""

    key = "naive"
    label = "naive FastAPI (sub per socket)"

    async def start(self) -> None:
        self.server = self._spawn(
            "naive", python_module("bench.peers.naive", "--port", str(self.port), "--redis", self.redis_url)
        )
        await self.server.wait_port(self.port)
        self._redis = Redis.from_url(self.redis_url)

    def targets(self, room: str, count: int) -> list[Target]:
        return [Target(f"ws://127.0.0.1:{self.port}/ws/{room}", count)]

    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        await self._redis.publish(CHANNEL_PREFIX + room, json.dumps(doc))

    async def settle(self, lg: LoadGen, room: str) -> None:
        # A socket is accepted before its subscription exists: wait until Redis counts them all.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            rep = await lg.report()
            [(_, subscribed)] = await self._redis.pubsub_numsub(CHANNEL_PREFIX + room)
            if subscribed >= rep.open:
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("naive: subscriptions did not all appear in Redis")

    async def stop(self) -> None:
        if hasattr(self, "_redis"):
            await self._redis.aclose()
        await super().stop()


class PySioPeer(System):
    """Peer (b): python-socketio AsyncServer + AsyncRedisManager under uvicorn."""

    key = "python-socketio"
    label = "python-socketio + AsyncRedisManager"
    protocol = "sio"

    async def start(self) -> None:
        self.channel = f"bench:pysio:{uuid.uuid4().hex[:8]}"
        argv = python_module(
            "bench.peers.pysio",
            "--port",
            str(self.port),
            "--redis",
            self.redis_url,
            "--channel",
            self.channel,
        )
        self.server = self._spawn("python-socketio", argv)
        await self.server.wait_port(self.port)
        self._manager = socketio.AsyncRedisManager(self.redis_url, channel=self.channel, write_only=True)

    def targets(self, room: str, count: int) -> list[Target]:
        url = f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"
        return [Target(url, count, sio_auth={"room": room})]

    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        await self._manager.emit("event", doc, room=room)


def _js_numbers(value: Any) -> Any:
    """JavaScript has one number type: an integral float goes on the msgpack wire as an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


def emitter_message(room: str, doc: dict[str, Any]) -> tuple[str, bytes]:
    """Channel and bytes @socket.io/redis-emitter publishes for ``emit("event", doc)`` to one room."""
    packet = {"type": 2, "data": ["event", _js_numbers(doc)], "nsp": "/"}
    opts = {"rooms": [room], "flags": {}, "except": []}
    return f"socket.io#/#{room}#", msgpack.packb(["emitter", packet, opts])


class NodeSioPeer(System):
    """Peer (c): Node socket.io + @socket.io/redis-adapter, fed as @socket.io/redis-emitter feeds it."""

    key = "node-socketio"
    label = "Node socket.io + redis-adapter"
    protocol = "sio"

    async def start(self) -> None:
        argv = ["node", str(NODE_DIR / "sio_server.js"), str(self.port), self.redis_url]
        self.server = self._spawn("node-socketio", argv)
        await self.server.wait_port(self.port)
        self._redis = Redis.from_url(self.redis_url)

    def targets(self, room: str, count: int) -> list[Target]:
        url = f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"
        return [Target(url, count, sio_auth={"room": room})]

    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        await self._redis.publish(*emitter_message(room, doc))

    async def stop(self) -> None:
        if hasattr(self, "_redis"):
            await self._redis.aclose()
        await super().stop()


class Blaster(System):
    """Calibration, not a peer: a Node server that only copies each Redis message to every socket.

    It does the least work a fan-out can do, so the load generator's CPU per delivery measured against it is
    what the generator itself costs, and its rate is the ceiling this machine and generator allow.
    """

    key = "calibration"
    label = "calibration: raw Node fan-out"

    async def start(self) -> None:
        argv = ["node", str(NODE_DIR / "blaster.js"), str(self.port), self.redis_url]
        self.server = self._spawn("calibration", argv)
        await self.server.wait_port(self.port)
        self._redis = Redis.from_url(self.redis_url)

    def targets(self, room: str, count: int) -> list[Target]:
        return [Target(f"ws://127.0.0.1:{self.port}/ws/{room}", count)]

    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        await self._redis.publish(f"bench:blaster:{room}", json.dumps(doc))

    async def stop(self) -> None:
        if hasattr(self, "_redis"):
            await self._redis.aclose()
        await super().stop()


PEERS: list[type[System]] = [NaivePeer, PySioPeer, NodeSioPeer]
