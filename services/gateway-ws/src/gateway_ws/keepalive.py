"""One replica-level sweep instead of two timers per socket: server pings with a timeout, and token expiry.

websockets would run a keepalive task per connection and we would hold an expiry timer per socket; at 10,000
idle sockets those cost more than the sockets themselves. One loop walks all sockets each second instead.
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from collections.abc import Callable, Iterable

from websockets.asyncio.server import ServerConnection

from gateway_ws.peers import OPEN, Closer, Peer
from gateway_ws.protocol import CLOSE_INTERNAL, CLOSE_UNAUTHORIZED


class Sweeper:
    def __init__(
        self,
        peers: Callable[[], Iterable[Peer]],
        closer: Closer,
        *,
        ping_interval_s: float,
        ping_timeout_s: float,
        tick_s: float = 1.0,
    ) -> None:
        self._peers = peers
        self._closer = closer
        self._interval = ping_interval_s
        self._timeout = ping_timeout_s
        self._tick = min(tick_s, ping_interval_s)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            self.sweep()

    def sweep(self) -> None:
        now_wall = time.time()
        for peer in list(self._peers()):
            conn = peer.conn
            if conn.protocol.state is not OPEN:
                continue
            if peer.exp <= now_wall:
                self._closer.close(conn, CLOSE_UNAUTHORIZED, "token expired")
                continue
            self._keepalive(peer, conn)

    def _keepalive(self, peer: Peer, conn: ServerConnection) -> None:
        # Same bookkeeping as websockets' own ping(): it resolves pending_pings when the pong arrives.
        now = conn.loop.time()
        pending = conn.pending_pings
        if pending:
            first_sent = next(iter(pending.values()))[1]
            if now - first_sent > self._timeout:
                self._closer.close(conn, CLOSE_INTERNAL, "keepalive ping timeout")
            return
        if now - peer.last_ping < self._interval:
            return
        peer.last_ping = now
        data = struct.pack("!I", random.getrandbits(32))
        pending[data] = (conn.loop.create_future(), now)
        conn.protocol.send_ping(data)
        try:
            conn.send_data()
        except Exception:
            conn.transport.abort()
