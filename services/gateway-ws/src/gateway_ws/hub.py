"""One Redis pub/sub connection per replica, one channel per local room or user feed, healed after any drop.

redis-py's asyncio PubSub does not reliably reconnect and resubscribe on its own (redis/redis-py#2089,
#2417), and a half-dead TCP peer can look like silence. So the hub owns the cycle: a fresh PubSub per
connection, a heartbeat PING whose PONG must come back, and after each (re)connect every channel is
subscribed again and each room replays what it missed from its stream before live messages flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from gateway_ws.metrics import Metrics

log = structlog.get_logger("gateway_ws.hub")


class Subscription:
    """Something listening on one channel. ``ready`` resolves once Redis confirmed every SUBSCRIBE sent."""

    def __init__(self, channel: bytes) -> None:
        self.channel = channel
        self.acks = 0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_message(self, data: bytes) -> Awaitable[None] | None:
        raise NotImplementedError

    async def on_resubscribed(self) -> None:
        return None

    def on_lost(self) -> None:
        return None


class HubUnavailable(Exception):
    """Redis pub/sub is not connected: the caller should ask the client to try again."""


class Hub:
    def __init__(self, redis: Redis, metrics: Metrics, *, heartbeat_s: float, hub_channel: str) -> None:
        self.redis = redis
        self.metrics = metrics
        self.heartbeat_s = heartbeat_s
        self.hub_channel = hub_channel.encode()
        self.subs: dict[bytes, Subscription] = {}
        self.connected = asyncio.Event()
        self._ps: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._bg: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-hub")

    async def stop(self) -> None:
        self._stopping = True
        task = self._task
        if task is not None:
            # Let the loop see _stopping after its current read (at most one heartbeat): a cancel landing
            # inside redis-py's / fakeredis's read can be swallowed, leaving the task waiting forever.
            done, _ = await asyncio.wait({task}, timeout=self.heartbeat_s + 1.0)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            if task.done() and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.result()
        for task in list(self._bg):
            task.cancel()
        await self._close_ps()

    # ---- channels
    async def subscribe(self, sub: Subscription) -> None:
        self.subs[sub.channel] = sub
        ps = self._ps
        if ps is not None and self.connected.is_set():
            sub.acks += 1
            try:
                await ps.subscribe(sub.channel)
            except Exception as exc:  # the run loop reconnects and subscribes it again
                log.warning("subscribe_failed", error=str(exc))

    def unsubscribe(self, sub: Subscription) -> None:
        if self.subs.get(sub.channel) is sub:
            del self.subs[sub.channel]
        ps = self._ps
        if ps is not None and self.connected.is_set():
            self._spawn(self._unsubscribe(ps, sub.channel))

    async def _unsubscribe(self, ps: PubSub, channel: bytes) -> None:
        if channel in self.subs:  # re-joined meanwhile
            return
        with contextlib.suppress(Exception):
            await ps.unsubscribe(channel)

    async def wait_ready(self, sub: Subscription, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self.connected.wait()
                await asyncio.shield(sub.ready)
        except TimeoutError:
            raise HubUnavailable("redis pub/sub not available") from None

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    # ---- the connection cycle
    async def _run(self) -> None:
        backoff = 0.05
        first = True
        while not self._stopping:
            try:
                await self._session(first)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                await self._close_ps()
                self.metrics.redis_reconnects.inc()
                log.warning("redis_pubsub_lost", error=f"{type(exc).__name__}: {exc}")
                for sub in list(self.subs.values()):
                    try:
                        sub.on_lost()
                    except Exception:
                        log.exception("on_lost_failed")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                first = False
                continue
            backoff = 0.05

    async def _session(self, first: bool) -> None:
        ps = self._ps = self.redis.pubsub()
        self._last_rx = time.monotonic()
        self._last_ping = self._last_rx
        await ps.subscribe(self.hub_channel)
        sent: set[bytes] = set()
        # Subscribe everything registered, including subs added while we were waiting for acks.
        while True:
            await self._pump_until(ps, lambda: all(s.acks <= 0 for c, s in self.subs.items() if c in sent))
            missing = [c for c in self.subs if c not in sent]
            if not missing:
                break
            for channel in missing:
                self.subs[channel].acks = 1
            sent.update(missing)
            await ps.subscribe(*missing)
        self.connected.set()
        if not first:
            log.info("redis_pubsub_restored", channels=len(self.subs))
        for sub in list(self.subs.values()):
            await sub.on_resubscribed()
        while not self._stopping:
            await self._step(ps)

    async def _pump_until(self, ps: PubSub, done: Any) -> None:
        deadline = time.monotonic() + max(5.0, self.heartbeat_s * 3)
        while not done() and not self._stopping:
            if time.monotonic() > deadline:
                raise TimeoutError("no SUBSCRIBE confirmation from redis")
            await self._step(ps)

    async def _step(self, ps: PubSub) -> None:
        msg = await ps.get_message(timeout=self.heartbeat_s)
        now = time.monotonic()
        if msg is not None:
            self._last_rx = now
            kind = msg["type"]
            if kind == "message":
                sub = self.subs.get(msg["channel"])
                if sub is not None:
                    try:
                        pending = sub.on_message(msg["data"])
                    except (ValueError, IndexError, KeyError) as exc:
                        # Junk on one of our channels must not cost everyone a reconnect.
                        log.warning("bad_channel_message", channel=msg["channel"][:120], error=str(exc))
                        pending = None
                    if pending is not None:
                        await pending
            elif kind == "subscribe":
                sub = self.subs.get(msg["channel"])
                if sub is not None:
                    sub.acks -= 1
                    if sub.acks <= 0 and not sub.ready.done():
                        sub.ready.set_result(None)
        if now - self._last_ping >= self.heartbeat_s:
            self._last_ping = now
            await ps.ping()
        if now - self._last_rx > self.heartbeat_s * 3:
            raise ConnectionError("redis pub/sub went silent (no PONG)")

    async def _close_ps(self) -> None:
        ps, self._ps = self._ps, None
        if ps is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ps.aclose(), 1.0)
