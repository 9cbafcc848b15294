"""Local rooms: the sockets this replica holds per project (and per user feed), fed by one subscription each.

A room keeps ``last_seq``, the newest event it has passed on. Live messages at or below it are repeats and
are dropped; one above ``last_seq + 1`` means a message was missed (a Redis hiccup) and the hole is filled
from the stream before going on. Each peer also keeps ``sent_seq``, so a resuming peer never gets a seq twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gateway_ws.hub import Hub, Subscription
from gateway_ws.metrics import Metrics
from gateway_ws.peers import OPEN, Closer, Peer, text_frame
from gateway_ws.protocol import ACCESS_REVOKED, CLOSE_FORBIDDEN
from gateway_ws.store import PRESENCE_CHANGED, RoomStore, StoredEvent

log = structlog.get_logger("gateway_ws.rooms")

_REMOVED = b'"type":"member_removed"'
_ROLE = b'"type":"member_role_changed"'


@dataclass
class RoomDeps:
    store: RoomStore
    hub: Hub
    closer: Closer
    metrics: Metrics
    instance: str
    send_buffer_limit: int
    pending_limit: int
    linger_s: float
    presence_debounce_s: float
    on_membership_change: Callable[[str, str], None]


class Room(Subscription):
    def __init__(self, pid: str, deps: RoomDeps, registry: dict[str, Room]) -> None:
        super().__init__(deps.store.channel(pid).encode())
        self.pid = pid
        self.deps = deps
        self.registry = registry
        self.peers: set[Peer] = set()
        self._snapshot: tuple[Peer, ...] | None = None
        self.users: dict[str, list[int | str]] = {}  # user_id -> [local sockets, presence member]
        self.last_seq = 0
        self.baselined = False
        self._presence_task: asyncio.Task[None] | None = None
        self._presence_dirty = False
        self._presence_last: bytes | None = None
        self._linger: asyncio.TimerHandle | None = None
        self.catching_up: set[Peer] = set()
        self._batch_seqs: list[int] = []
        self._batch_frames: list[bytes] = []
        self._batch_occurred: list[int] = []
        self._flush_handle: asyncio.Handle | None = None

    # ---- membership of local peers
    def add(self, peer: Peer) -> bool:
        """Add a peer; True when it is this user's first local socket in the room (presence join)."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self.peers.add(peer)
        if peer.pending is not None:
            self.catching_up.add(peer)
        self._snapshot = None
        peer.room = self
        entry = self.users.get(peer.user_id)
        if entry is None:
            member = self.deps.store.presence_member(peer.user_id, self.deps.instance, peer.name)
            self.users[peer.user_id] = [1, member]
            return True
        entry[0] = int(entry[0]) + 1
        return False

    def presence_member(self, user_id: str) -> str:
        return str(self.users[user_id][1])

    def remove(self, peer: Peer) -> str | None:
        """Remove a peer; returns its presence member when it was the user's last local socket here."""
        if peer not in self.peers:
            return None
        self.peers.discard(peer)
        self.catching_up.discard(peer)
        self._snapshot = None
        peer.room = None
        gone: str | None = None
        entry = self.users.get(peer.user_id)
        if entry is not None:
            entry[0] = int(entry[0]) - 1
            if int(entry[0]) <= 0:
                del self.users[peer.user_id]
                gone = str(entry[1])
        if not self.peers:
            # Linger briefly so a reconnect storm does not churn SUBSCRIBE/UNSUBSCRIBE.
            self._linger = asyncio.get_running_loop().call_later(self.deps.linger_s, self._expire)
        return gone

    def _expire(self) -> None:
        self._linger = None
        if self.peers or self.registry.get(self.pid) is not self:
            return
        del self.registry[self.pid]
        self.deps.hub.unsubscribe(self)

    def baseline(self, latest: int) -> None:
        """Called by the first joiner after the subscription is live, before any peer goes live."""
        if not self.baselined:
            self.last_seq = max(self.last_seq, latest)
            self.baselined = True

    # ---- live path
    def on_message(self, data: bytes) -> Awaitable[None] | None:
        if data[:1] == b"e":
            nl = data.index(b"\n")
            head = data[2:nl].split(b" ")
            seq = int(head[0])
            if seq <= self.last_seq:
                return None
            if self.baselined and seq != self.last_seq + 1:
                return self._fill_then(seq, data[nl + 1 :], int(head[1]))
            self._deliver(seq, data[nl + 1 :], int(head[1]))
        elif data == PRESENCE_CHANGED:
            self.presence_changed()
        return None

    def _deliver(self, seq: int, payload: bytes, occurred_ms: int) -> None:
        self.last_seq = seq
        if _REMOVED in payload or _ROLE in payload:
            self.flush()  # everything before the membership change goes out first
            self._membership_event(payload)
        deps = self.deps
        # Peers still catching up get the event queued now, in order; live peers get it at flush.
        for peer in tuple(self.catching_up):
            pending = peer.pending
            if pending is not None and seq > peer.sent_seq:
                pending.append((seq, payload))
                if len(pending) > deps.pending_limit:
                    deps.closer.slow(peer.conn)
        self._batch_seqs.append(seq)
        self._batch_frames.append(text_frame(payload))
        self._batch_occurred.append(occurred_ms)
        if self._flush_handle is None:
            # Flush at the end of this loop iteration: events that arrived together (a backlog in the
            # Redis socket) go out in one write per socket instead of one write per event.
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write the batched events to every live peer: one transport write per peer per batch."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        seqs = self._batch_seqs
        if not seqs:
            return
        frames, occurred = self._batch_frames, self._batch_occurred
        self._batch_seqs, self._batch_frames, self._batch_occurred = [], [], []
        first, last, count = seqs[0], seqs[-1], len(seqs)
        data = frames[0] if count == 1 else b"".join(frames)
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self._snapshot = tuple(self.peers)
        deps = self.deps
        limit = deps.send_buffer_limit
        written = 0
        for peer in snapshot:
            sent = peer.sent_seq
            if sent >= last or peer.pending is not None:
                continue
            peer.sent_seq = last
            if peer.protocol.state is not OPEN:
                continue
            transport = peer.transport
            if sent < first:
                transport.write(data)
                written += count
            else:  # rare: a peer that resumed ahead of part of this batch
                skip = sum(1 for s in seqs if s <= sent)
                transport.write(b"".join(frames[skip:]))
                written += count - skip
            if transport.get_write_buffer_size() > limit:
                deps.closer.slow(peer.conn)
        deps.metrics.delivered += written
        now = time.time()
        for occurred_ms in occurred:
            if occurred_ms:
                deps.metrics.fanout_latency.observe(max(0.0, now - occurred_ms / 1000))

    async def _fill_then(self, seq: int, payload: bytes, occurred_ms: int) -> None:
        await self.catch_up(upto=seq - 1)
        if seq > self.last_seq:
            self._deliver(seq, payload, occurred_ms)

    async def catch_up(self, upto: int | None = None) -> None:
        """Deliver what the stream holds after last_seq (up to ``upto``); resync the room if it has a hole."""
        missing: list[StoredEvent] = await self.deps.store.range_after(self.pid, self.last_seq, upto)
        for event in missing:
            if event.seq != self.last_seq + 1:
                break
            self._deliver(event.seq, event.payload, 0)
        target = upto if upto is not None else (missing[-1].seq if missing else self.last_seq)
        if target > self.last_seq:
            self._resync(target)

    def _resync(self, seq: int) -> None:
        """History no longer covers what this room missed: everyone refetches, then it carries on from seq."""
        self.flush()
        log.warning("room_resync", project_id=self.pid, after=self.last_seq, to=seq)
        self.last_seq = seq
        body = json.dumps({"type": "resync_required", "seq": seq}).encode()
        self.broadcast_control(body)
        for peer in tuple(self.peers):
            peer.sent_seq = max(peer.sent_seq, seq)
        self.deps.metrics.resyncs.inc()

    async def on_resubscribed(self) -> None:
        if self.baselined:
            await self.catch_up()

    def _membership_event(self, payload: bytes) -> None:
        try:
            doc = json.loads(payload)
            user_id = str(doc["data"]["user_id"])
        except (ValueError, KeyError, TypeError):
            return
        self.deps.on_membership_change(self.pid, user_id)
        if doc.get("type") == "member_removed":
            for peer in tuple(self.peers):
                if peer.user_id == user_id:
                    # Before this event reaches anyone: the removed user sees nothing after it. Written
                    # straight to the socket, even mid catch-up, since the close follows at once.
                    if peer.protocol.state is OPEN:
                        peer.transport.write(text_frame(ACCESS_REVOKED))
                    self.deps.closer.close(peer.conn, CLOSE_FORBIDDEN, "access revoked")
                    peer.sent_seq = 1 << 62
        elif doc.get("type") == "member_role_changed":
            role = str(doc["data"].get("role", ""))
            for peer in self.peers:
                if peer.user_id == user_id:
                    peer.role = role

    # ---- control frames (presence, resync, revocation): not seq-numbered
    def send_control(self, peer: Peer, body: bytes) -> None:
        self.flush()  # control frames keep their place after the events already passed on
        if peer.pending is not None:
            peer.pending.append((0, body))
        elif peer.protocol.state is OPEN:
            peer.transport.write(text_frame(body))

    def broadcast_control(self, body: bytes) -> None:
        self.flush()
        frame = text_frame(body)
        for peer in tuple(self.peers):
            if peer.pending is not None:
                peer.pending.append((0, body))
            elif peer.protocol.state is OPEN:
                peer.transport.write(frame)

    def presence_changed(self) -> None:
        self._presence_dirty = True
        if self._presence_task is None or self._presence_task.done():
            self._presence_task = asyncio.get_running_loop().create_task(self._send_presence())

    async def _send_presence(self) -> None:
        # Re-read on each notice instead of trusting the sender's list: the last read always wins. Changes
        # are coalesced over a short window so a join storm costs a few broadcasts, not one per join.
        while self._presence_dirty and self.peers:
            await asyncio.sleep(self.deps.presence_debounce_s)
            self._presence_dirty = False
            try:
                people = await self.deps.store.presence(self.pid)
            except Exception as exc:
                log.warning("presence_read_failed", project_id=self.pid, error=str(exc))
                return
            body = json.dumps({"type": "presence", "presence": people}, separators=(",", ":")).encode()
            if body != self._presence_last:
                self._presence_last = body
                self.broadcast_control(body)
