"""Our gateway (gateway_ws) as a system under test, fed straight through Redis or through RabbitMQ.

``python -m gateway_ws`` runs with env settings beside a fake tasks-api that says "member" to every
membership question (bench.peers.fake_tasks_api). Every Redis key, the exchange and the ingest queue get names
of their own per run, so a benchmark never touches another run's rooms.

- Redis path (pure fan-out): the harness writes each event exactly as the gateway's ingest does
  (gateway_ws.store.RoomStore.append: XADD to the room stream, SET last seq, PUBLISH
  ``e <seq> <ms> <type>\\n`` + envelope on the room's live channel), with the broker ingest switched off.
- RabbitMQ path (realistic): the harness publishes the envelope to the topic exchange with publisher confirms,
  as tasks-api's relay does; the gateway's ingest consumes it, validates it and writes it into the room.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import jwt
from redis.asyncio import Redis

from bench.gateway.systems import System
from bench.loadgen import LoadGen, Target
from bench.procs import free_port, python_module
from bench.stack import AMQP_URL, delete_broker_objects


class BoardcastGateway(System):
    key = "boardcast"
    label = "Boardcast gateway-ws (Redis)"
    via_amqp = False

    def __init__(self, redis_url: str, amqp_url: str = AMQP_URL) -> None:
        super().__init__(redis_url)
        self.amqp_url = amqp_url
        self.secret = secrets.token_urlsafe(48)
        tag = uuid.uuid4().hex[:10]
        self.prefix = f"bench:gw:{tag}"
        self.exchange_name = f"bench.events.{tag}"
        self.queue = f"bench.gateway-ws.ingest.{tag}"
        self.seqs: dict[str, int] = {}
        self.users: dict[str, str] = {}

    async def start(self) -> None:
        api_port = free_port()
        api = self._spawn(
            "fake-tasks-api", python_module("bench.peers.fake_tasks_api", "--port", str(api_port))
        )
        await api.wait_port(api_port)
        env = {
            "BOARDCAST_ENV": "production",
            "BOARDCAST_HOST": "127.0.0.1",
            "BOARDCAST_PORT": str(self.port),
            "BOARDCAST_INSTANCE": f"bench-{self.port}",
            "BOARDCAST_REDIS_URL": self.redis_url,
            "BOARDCAST_AMQP_URL": self.amqp_url,
            "BOARDCAST_EXCHANGE": self.exchange_name,
            "BOARDCAST_INGEST_ENABLED": "true" if self.via_amqp else "false",
            "BOARDCAST_INGEST_QUEUE": self.queue,
            "BOARDCAST_REDIS_PREFIX": self.prefix,
            "BOARDCAST_JWT_SECRET": self.secret,
            "BOARDCAST_TASKS_API_URL": f"http://127.0.0.1:{api_port}",
            "BOARDCAST_NOTIFIER_URL": f"http://127.0.0.1:{api_port}",
            "BOARDCAST_ALLOWED_ORIGINS": "http://127.0.0.1",
            # Every socket of a room is one bench user, so presence does not dominate set-up (see the doc).
            "BOARDCAST_MAX_CONNECTIONS_PER_USER": "100000",
        }
        self.server = self._spawn(self.key, python_module("gateway_ws"), env)
        self.metrics_url = f"http://127.0.0.1:{self.port}/metrics"
        await self.server.wait_port(self.port)
        await self._wait_ready()
        self._redis = Redis.from_url(self.redis_url)
        if self.via_amqp:
            self._amqp = await aio_pika.connect_robust(self.amqp_url, timeout=15)
            channel = await self._amqp.channel(publisher_confirms=True)
            self._exchange = await channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )

    async def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                response = await client.get(f"http://127.0.0.1:{self.port}/readyz")
                if response.status_code == 200:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gateway not ready: {response.text.strip()}")
                await asyncio.sleep(0.2)

    def _token(self, user_id: str) -> str:
        now = int(time.time())
        claims = {"sub": user_id, "name": "bench", "iat": now, "exp": now + 3 * 3600}
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def targets(self, room: str, count: int) -> list[Target]:
        user = self.users.setdefault(room, str(uuid.uuid4()))
        url = f"ws://127.0.0.1:{self.port}/ws/projects/{room}?token={self._token(user)}"
        return [Target(url, count)]

    async def publish(self, room: str, doc: dict[str, Any]) -> None:
        payload = json.dumps(doc, separators=(",", ":")).encode()
        if self.via_amqp:
            message = aio_pika.Message(
                payload,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=doc["event_id"],
            )
            await self._exchange.publish(message, routing_key=f"project.{room}.{doc['type']}", mandatory=True)
            return
        # What RoomStore.append writes for one event (single writer here, so no WATCH/GET round trip).
        seq = int(doc["seq"])
        occurred_ms = int(datetime.fromisoformat(doc["occurred_at"]).astimezone(UTC).timestamp() * 1000)
        base = f"{self.prefix}:room:{room}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(f"{base}:stream", {"e": payload, "t": int(time.time() * 1000)}, id=f"{seq}-0", maxlen=5000)
        pipe.set(f"{base}:last", seq, ex=7 * 86400)
        pipe.expire(f"{base}:stream", 3601)
        pipe.publish(f"{base}:live", b"e %d %d %s\n" % (seq, occurred_ms, doc["type"].encode()) + payload)
        await pipe.execute()

    async def settle(self, lg: LoadGen, room: str) -> None:
        await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if hasattr(self, "_amqp"):
            await self._amqp.close()
        if hasattr(self, "_redis"):
            keys = [k async for k in self._redis.scan_iter(match=f"{self.prefix}:*", count=1000)]
            for i in range(0, len(keys), 500):
                await self._redis.delete(*keys[i : i + 500])
            await self._redis.aclose()
        await super().stop()
        await self._delete_broker_objects()

    async def _delete_broker_objects(self) -> None:
        if self.via_amqp:
            await delete_broker_objects([self.queue], [self.exchange_name])


class BoardcastGatewayAmqp(BoardcastGateway):
    key = "boardcast-amqp"
    label = "Boardcast gateway-ws (RabbitMQ ingest)"
    via_amqp = True
