"""Composition root: builds the gateway's adapters from settings (or takes them ready-made) and runs it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import signal
from collections import Counter
from typing import Any

import structlog
from boardcast_messaging import Broker, ConsumerHandle, create_broker
from redis.asyncio import BlockingConnectionPool, Redis
from websockets.asyncio.server import Server, ServerConnection, serve

from gateway_ws.auth import TokenVerifier, install_log_redaction
from gateway_ws.backlog import HttpBacklog, NotificationsBacklog
from gateway_ws.hub import Hub
from gateway_ws.ingest import Ingest, ingest_spec
from gateway_ws.keepalive import Sweeper
from gateway_ws.membership import HttpMembership, MembershipChecker
from gateway_ws.metrics import Metrics
from gateway_ws.peers import Closer
from gateway_ws.protocol import CLOSE_POLICY, CLOSE_RESTART
from gateway_ws.server import Edge, GatewayConnection
from gateway_ws.sessions import Sessions
from gateway_ws.settings import Settings
from gateway_ws.store import RoomStore

log = structlog.get_logger("gateway_ws")


class Gateway:
    """One replica. ``start()`` binds and consumes; ``drain()`` is the SIGTERM path; ``stop()`` is abrupt."""

    def __init__(
        self,
        settings: Settings,
        *,
        broker: Broker | None = None,
        redis: Redis | None = None,
        membership: MembershipChecker | None = None,
        notifications_backlog: NotificationsBacklog | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._broker, self._owns_broker = broker, broker is None
        self._redis, self._owns_redis = redis, redis is None
        self._membership = membership
        self._backlog = notifications_backlog
        self.connections: set[ServerConnection] = set()
        self._per_user: Counter[str] = Counter()
        # This replica's entries in the users' fleet-wide connection counts (RoomStore.claim_connection).
        self._slots: dict[str, set[str]] = {}
        self._slot_ids = itertools.count(1)
        self._releases: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._edge: Edge | None = None
        self._consumer: ConsumerHandle | None = None
        self._broker_started = False
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.draining = False
        self.ingest: Ingest | None = None
        self.store: RoomStore | None = None
        self.sessions: Sessions | None = None
        self.hub: Hub | None = None

    # ---- lifecycle
    async def start(self) -> None:
        s = self.settings
        install_log_redaction()
        redis = self._redis = self._redis or _build_redis(s)
        self.store = RoomStore(
            redis,
            s.redis_prefix,
            max_len=s.history_max_len,
            max_age_s=s.history_max_age_s,
            revocation_ttl_s=s.revocation_ttl_s,
        )
        self.hub = Hub(
            redis, self.metrics, heartbeat_s=s.redis_heartbeat_s, hub_channel=f"{s.redis_prefix}:hub"
        )
        await self.hub.start()
        membership = self._membership or HttpMembership(s.tasks_api_url, cache_s=s.membership_cache_s)
        self._membership = membership
        backlog = self._backlog = self._backlog or HttpBacklog(s.notifier_url)
        closer = Closer(self.metrics, s.close_timeout_s)
        verifier = TokenVerifier(s.jwt_secret, s.jwt_algorithm)  # the handshake's and the auth message's
        self.sessions = Sessions(s, self.store, self.hub, membership, backlog, closer, self.metrics, verifier)
        self.metrics.bind_live(
            lambda: {
                "connections": len(self.connections),
                "rooms": len(self.sessions.rooms) if self.sessions else 0,
            }
        )
        self.ingest = Ingest(self.store, self.metrics)
        if s.ingest_enabled:
            if self._broker is None:
                self._broker = create_broker(
                    s.amqp_url, exchange=s.exchange, service=f"gateway-ws {s.instance}"
                )
            else:
                self._broker_started = True  # passed in: its owner starts and stops it
            # Give the broker a few seconds (so make dev's queue exists before anyone publishes), then
            # keep trying in the background: meanwhile Redis is served and /readyz says "broker".
            starting = asyncio.create_task(self._retry_ingest(), name="gateway-ingest-start")
            self._tasks.append(starting)
            await asyncio.wait({starting}, timeout=5.0)
        edge = self._edge = Edge(
            s,
            verifier,
            self.metrics,
            self._readiness,
            self._counts,
            self._claim_slot,
        )
        self._server = await serve(
            self._handler,
            s.host,
            s.port,
            process_request=edge.process_request,
            select_subprotocol=edge.select_subprotocol,
            create_connection=GatewayConnection,
            compression=None,
            max_size=s.max_frame_bytes,
            max_queue=8,
            ping_interval=None,  # the Sweeper pings every socket from one task
            ping_timeout=None,
            close_timeout=s.close_timeout_s,
            server_header=None,
        )
        self._tasks.append(asyncio.create_task(self._presence_loop(), name="gateway-presence"))
        sessions = self.sessions
        sweeper = Sweeper(
            lambda: sessions.peers,
            closer,
            ping_interval_s=s.ping_interval_s,
            ping_timeout_s=s.ping_timeout_s,
        )
        self._tasks.append(asyncio.create_task(sweeper.run(), name="gateway-sweeper"))
        log.info("gateway_started", instance=s.instance, port=self.port)  # also records the port

    async def _start_ingest(self) -> None:
        assert self._broker is not None and self.ingest is not None
        if not self._broker_started:
            await self._broker.start()
            self._broker_started = True
        spec = ingest_spec(self.settings.ingest_queue, self.settings.ingest_prefetch)
        self._consumer = await self._broker.consume(spec, self.ingest.handle)

    async def _retry_ingest(self) -> None:
        delay = 0.5
        while self._consumer is None:
            try:
                await self._start_ingest()
            except Exception as exc:
                log.warning("ingest_not_started", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0); kept after stop for logs and tests."""
        if self._server is not None and self._server.sockets:
            self._port = int(next(iter(self._server.sockets)).getsockname()[1])
        assert self._port, "start() first"
        return self._port

    @property
    def url(self) -> str:
        return f"ws://{self.settings.host}:{self.port}"

    async def drain(self, window_s: float | None = None) -> None:
        """Stop accepting, close every socket 1012 spread over the window (clients resume elsewhere), stop."""
        window = self.settings.drain_window_s if window_s is None else window_s
        self.draining = True
        if self._server is not None:
            self._server.server.close()  # the listener only: open sockets stay until their turn
        conns = list(self.connections)
        random.shuffle(conns)
        loop = asyncio.get_running_loop()
        closer = self.sessions.closer if self.sessions else None
        for i, conn in enumerate(conns):
            if closer is not None:
                loop.call_later(
                    window * i / max(1, len(conns)), closer.close, conn, CLOSE_RESTART, "replica draining"
                )
        deadline = loop.time() + window + self.settings.close_timeout_s + 1.0
        while self.connections and loop.time() < deadline:  # noqa: ASYNC110 - polling a plain set
            await asyncio.sleep(0.05)
        await self.stop()

    async def stop(self) -> None:
        self.draining = True
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._server is not None:
            self._server.close(close_connections=True, code=CLOSE_RESTART, reason="replica stopping")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), self.settings.close_timeout_s + 2)
            self._server = None
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a cancel that lands inside a redis-py read can be swallowed (see Hub.stop).
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks.clear()
        if self.hub is not None:
            await self.hub.stop()
        for client in (self._membership, self._backlog):
            closer = getattr(client, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if self._owns_broker and self._broker is not None and self._broker_started:
            with contextlib.suppress(Exception):
                await self._broker.stop()
        if self._owns_redis and self._redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._redis.aclose(), 2.0)

    async def serve_forever(self) -> None:
        """``python -m gateway_ws``: run until SIGTERM/SIGINT, then drain."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("gateway_draining", connections=len(self.connections))
        await self.drain()

    # ---- per connection
    async def _handler(self, conn: ServerConnection) -> None:
        assert isinstance(conn, GatewayConnection) and self.sessions is not None
        req = self._edge.requests.pop(conn, None) if self._edge is not None else None
        if req is None:
            self.sessions.closer.close(conn, CLOSE_POLICY, "bad request")
            return
        user = req.claims.user_id if req.claims else ""
        conn.forget_handshake()
        self.connections.add(conn)
        self._per_user[user] += 1
        if req.slot:
            self._slots.setdefault(user, set()).add(req.slot)
        try:
            await self.sessions.serve(conn, req)
        except Exception:
            log.exception("session_failed", kind=req.kind, project_id=req.project_id)
        finally:
            self.connections.discard(conn)
            self._per_user[user] -= 1
            if self._per_user[user] <= 0:
                del self._per_user[user]
            if req.slot:
                self._release_slot(user, req.slot)

    def _counts(self) -> tuple[int, dict[str, int]]:
        return len(self.connections), self._per_user

    async def _claim_slot(self, user_id: str) -> str | None:
        """Count a new socket of ``user_id`` across replicas: its entry, or None when over the limit.

        With Redis unreachable the socket is let in on this replica's own count (it cannot join a room
        without Redis anyway, and a Redis blip must not lock users out).
        """
        s = self.settings
        slot = f"{s.instance}#{next(self._slot_ids)}"
        assert self.store is not None
        try:
            ok = await self.store.claim_connection(
                user_id, slot, s.max_connections_per_user, s.presence_ttl_s
            )
        except Exception as exc:
            log.warning("connection_count_unavailable", error=str(exc))
            return ""
        return slot if ok else None

    def _release_slot(self, user_id: str, slot: str) -> None:
        members = self._slots.get(user_id)
        if members is not None:
            members.discard(slot)
            if not members:
                del self._slots[user_id]
        if self.store is None:
            return

        async def release(store: RoomStore) -> None:
            try:
                await store.release_connection(user_id, slot)
            except Exception as exc:  # the entry lapses within presence_ttl_s anyway
                log.warning("connection_release_failed", error=str(exc))

        task = asyncio.get_running_loop().create_task(release(self.store))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _readiness(self) -> list[str]:
        problems: list[str] = []
        if self.draining:
            return ["draining"]
        try:
            assert self._redis is not None
            await asyncio.wait_for(self._redis.ping(), 1.0)
        except Exception:
            problems.append("redis")
        if self.hub is None or not self.hub.connected.is_set():
            problems.append("redis pub/sub")
        if self.settings.ingest_enabled:
            try:
                ok = self._consumer is not None and self._broker is not None
                ok = ok and await asyncio.wait_for(self._broker.ready(), 1.0)  # type: ignore[union-attr]
            except Exception:
                ok = False
            if not ok:
                problems.append("broker")
        return problems

    async def _presence_loop(self) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(s.presence_refresh_s)
            if self.sessions is None or self.store is None:
                continue
            rooms = {
                pid: [str(e[1]) for e in room.users.values()] for pid, room in self.sessions.rooms.items()
            }
            try:
                await self.store.presence_refresh(rooms, s.presence_ttl_s)
                slots = {user: list(members) for user, members in self._slots.items()}
                await self.store.refresh_connections(slots, s.presence_ttl_s)
            except Exception as exc:
                log.warning("presence_refresh_failed", error=str(exc))


def _build_redis(settings: Settings) -> Any:
    if settings.redis_url:
        # A join storm must queue for a connection, not fail: redis-py's default pool raises at 100.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.join_timeout_s,
        )
        return Redis(connection_pool=pool)
    if settings.env == "dev":
        import fakeredis

        return fakeredis.FakeAsyncRedis()
    raise ValueError("BOARDCAST_REDIS_URL is required outside ENV=dev")


def create_gateway(
    settings: Settings,
    *,
    broker: Broker | None = None,
    redis: Redis | None = None,
    membership: MembershipChecker | None = None,
    notifications_backlog: NotificationsBacklog | None = None,
) -> Gateway:
    return Gateway(
        settings,
        broker=broker,
        redis=redis,
        membership=membership,
        notifications_backlog=notifications_backlog,
    )
