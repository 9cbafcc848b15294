"""One local socket as the fan-out sees it: direct frame writes, a bounded buffer, and how it is closed."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from gateway_ws.metrics import Metrics

if TYPE_CHECKING:
    from gateway_ws.feeds import UserFeed
    from gateway_ws.rooms import Room

OPEN = State.OPEN
SLOW_CONSUMER = 1013


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame: what a server sends, identical for every peer.

    Building it once per event and writing the same bytes to every socket is what keeps fan-out cheap.
    """
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class Closer:
    """Closes sockets from synchronous code (the fan-out loop), never waiting on a peer that does not read."""

    def __init__(self, metrics: Metrics, close_timeout_s: float) -> None:
        self.metrics = metrics
        self.close_timeout_s = close_timeout_s

    def slow(self, conn: ServerConnection) -> None:
        """A peer whose send buffer went over the limit: close 1013 rather than stall the room."""
        if conn.protocol.state is OPEN:
            self.metrics.slow_consumer_closes.inc()
            self.close(conn, SLOW_CONSUMER, "slow consumer")

    def close(self, conn: ServerConnection, code: int, reason: str = "") -> None:
        protocol = conn.protocol
        if protocol.state is not OPEN:
            return
        if code == SLOW_CONSUMER:
            # fail(): close frame behind what is queued, then half-close; we do not wait for the reply.
            protocol.fail(code, reason)
        else:
            protocol.send_close(code, reason)
        self.metrics.closes.labels(str(code)).inc()
        try:
            conn.send_data()
        except Exception:  # the transport is already gone; connection_lost will follow
            conn.transport.abort()
            return
        conn.loop.call_later(self.close_timeout_s, _abort_if_open, conn)


def _abort_if_open(conn: ServerConnection) -> None:
    if conn.protocol.state is not State.CLOSED:
        conn.transport.abort()


class Peer:
    """A project-room or notifications socket held by this replica."""

    __slots__ = (
        "bucket",
        "conn",
        "exp",
        "feed",
        "last_ping",
        "name",
        "pending",
        "protocol",
        "role",
        "room",
        "sent_seq",
        "skip_ids",
        "stamp",
        "transport",
        "user_id",
    )

    def __init__(self, conn: ServerConnection, user_id: str, name: str, burst: float, exp: float) -> None:
        self.conn = conn
        self.transport: asyncio.Transport = conn.transport
        self.protocol = conn.protocol
        self.user_id = user_id
        self.name = name
        self.role = ""
        self.sent_seq = 0
        # While not None the peer is catching up (hello, replay, backlog): live frames wait here, in order.
        self.pending: list[tuple[int, bytes]] | None = []
        self.room: Room | None = None
        self.feed: UserFeed | None = None
        self.bucket = burst
        self.stamp = time.monotonic()
        # Notification ids already sent in the backlog: a live copy of one is dropped.
        self.skip_ids: frozenset[str] = frozenset()
        self.exp = exp  # token expiry (epoch s), enforced by the Sweeper
        self.last_ping = 0.0

    def allow(self, rate: float, burst: float) -> bool:
        """Token bucket for client messages: ``rate`` per second, up to ``burst`` at once."""
        now = time.monotonic()
        self.bucket = min(burst, self.bucket + (now - self.stamp) * rate)
        self.stamp = now
        if self.bucket < 1.0:
            return False
        self.bucket -= 1.0
        return True
