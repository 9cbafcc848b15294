"""Notification feeds: one Redis channel per user with local /ws/notifications sockets, relayed verbatim."""

from __future__ import annotations

import json
from collections.abc import Awaitable

from gateway_ws.hub import Subscription
from gateway_ws.peers import OPEN, Peer, text_frame
from gateway_ws.protocol import CLOSE_RESTART
from gateway_ws.rooms import RoomDeps


def notification_id(payload: bytes) -> str | None:
    """The id inside a ``{"type": "notification", "notification": {...}}`` frame, else None."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    note = doc.get("notification") if isinstance(doc, dict) else None
    return str(note.get("id")) if isinstance(note, dict) and "id" in note else None


class UserFeed(Subscription):
    """A user's notification channel, shared by that user's /ws/notifications sockets on this replica."""

    def __init__(self, user_id: str, channel: str, deps: RoomDeps, registry: dict[str, UserFeed]) -> None:
        super().__init__(channel.encode())
        self.user_id = user_id
        self.deps = deps
        self.registry = registry
        self.peers: set[Peer] = set()

    def add(self, peer: Peer) -> None:
        self.peers.add(peer)
        peer.feed = self

    def remove(self, peer: Peer) -> None:
        self.peers.discard(peer)
        peer.feed = None
        if not self.peers and self.registry.get(self.user_id) is self:
            del self.registry[self.user_id]
            self.deps.hub.unsubscribe(self)

    def on_message(self, data: bytes) -> Awaitable[None] | None:
        frame = text_frame(data)
        written = 0
        note_id: str | None = None
        if any(peer.skip_ids for peer in self.peers):
            note_id = notification_id(data)
        for peer in tuple(self.peers):
            if note_id is not None and note_id in peer.skip_ids:
                continue
            if peer.pending is not None:
                peer.pending.append((0, data))
            elif peer.protocol.state is OPEN:
                peer.transport.write(frame)
                written += 1
                if peer.transport.get_write_buffer_size() > self.deps.send_buffer_limit:
                    self.deps.closer.slow(peer.conn)
        self.deps.metrics.delivered += written
        return None

    def on_lost(self) -> None:
        # Notifications carry no seq to replay from: make the clients reconnect and take a fresh backlog.
        for peer in tuple(self.peers):
            self.deps.closer.close(peer.conn, CLOSE_RESTART, "notification stream interrupted")
