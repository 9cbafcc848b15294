"""One socket's life: admit it, join its room or feed, catch it up without gap or repeat, then serve it.

Resume (``since=N``) in a room: the peer is registered *pending* before anything is read, so every live event
from then on is queued for it; the room's subscription is confirmed; only then is the stream read. An event is
in the stream before it is published (same MULTI), so stream plus queue cover everything, and ``sent_seq``
drops what both hold. Order on the wire: hello, replay (seq > N), queued events, live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from boardcast_contracts.keys import user_channel
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from gateway_ws import protocol as proto
from gateway_ws.auth import Claims, InvalidToken, TokenVerifier
from gateway_ws.backlog import BacklogRefused, BacklogUnavailable, NotificationsBacklog
from gateway_ws.feeds import UserFeed, notification_id
from gateway_ws.hub import Hub, HubUnavailable
from gateway_ws.membership import BadToken, MembershipChecker, MembershipUnavailable, NotMember
from gateway_ws.metrics import Metrics
from gateway_ws.peers import OPEN, Closer, Peer
from gateway_ws.rooms import Room, RoomDeps
from gateway_ws.settings import Settings
from gateway_ws.store import RoomStore

log = structlog.get_logger("gateway_ws.sessions")


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    kind: str  # "room" | "notifications"
    project_id: str
    since: int | None
    token: str
    claims: Claims | None
    error: str | None
    slot: str = ""  # this socket's entry in the user's fleet-wide connection count ("" = not counted)


class Sessions:
    def __init__(
        self,
        settings: Settings,
        store: RoomStore,
        hub: Hub,
        membership: MembershipChecker,
        backlog: NotificationsBacklog,
        closer: Closer,
        metrics: Metrics,
        verifier: TokenVerifier,
    ) -> None:
        self.settings = settings
        self.verifier = verifier
        self.store = store
        self.hub = hub
        self.membership = membership
        self.backlog = backlog
        self.closer = closer
        self.metrics = metrics
        self.rooms: dict[str, Room] = {}
        self.feeds: dict[str, UserFeed] = {}
        self.peers: set[Peer] = set()
        self.deps = RoomDeps(
            store=store,
            hub=hub,
            closer=closer,
            metrics=metrics,
            instance=settings.instance,
            send_buffer_limit=settings.send_buffer_limit,
            pending_limit=settings.pending_limit,
            linger_s=2.0,
            presence_debounce_s=settings.presence_debounce_s,
            on_membership_change=membership.invalidate,
        )
        self._bg: set[asyncio.Task[None]] = set()

    # ---- entry
    async def serve(self, conn: ServerConnection, req: ConnectRequest) -> None:
        if req.claims is None:
            self.closer.close(conn, proto.CLOSE_UNAUTHORIZED, req.error or "unauthorized")
            return
        claims = req.claims
        peer = Peer(conn, claims.user_id, claims.name, self.settings.rate_limit_burst, claims.exp)
        # Token expiry (4401) and server pings are the replica's Sweeper's job, not a timer per socket.
        self.peers.add(peer)
        try:
            if req.kind == "room":
                await self._room(peer, req)
            else:
                await self._notifications(peer, req)
        finally:
            self.peers.discard(peer)

    # ---- project rooms
    async def _room(self, peer: Peer, req: ConnectRequest) -> None:
        conn, pid = peer.conn, req.project_id
        try:
            member = await self.membership.check(pid, peer.user_id, req.token)
        except NotMember:
            self.closer.close(conn, proto.CLOSE_FORBIDDEN, "not a member")
            return
        except BadToken:
            self.closer.close(conn, proto.CLOSE_UNAUTHORIZED, "token refused")
            return
        except MembershipUnavailable as exc:
            log.warning("membership_unavailable", project_id=pid, error=str(exc))
            self.closer.close(conn, proto.CLOSE_TRY_AGAIN, "membership check unavailable")
            return
        peer.role = member.role
        room = self.rooms.get(pid)
        if room is None:
            room = self.rooms[pid] = Room(pid, self.deps, self.rooms)
            await self.hub.subscribe(room)
        first_here = room.add(peer)
        try:
            if not await self._catch_up(peer, room, req, member.seq, first_here):
                return
            await self._read_loop(peer)
        finally:
            gone = room.remove(peer)
            if gone is not None:
                self._spawn(self._presence_leave(pid, gone))

    async def _catch_up(
        self, peer: Peer, room: Room, req: ConnectRequest, checked_seq: int, first: bool
    ) -> bool:
        conn, pid, since = peer.conn, room.pid, req.since
        try:
            await self.hub.wait_ready(room, self.settings.join_timeout_s)
            latest, events, revoked = await self.store.snapshot(pid, since, peer.user_id)
            if revoked > checked_seq:
                # Removed after tasks-api said yes (or after the cached yes): the removal wins.
                self.closer.close(conn, proto.CLOSE_FORBIDDEN, "access revoked")
                return False
            member = room.presence_member(peer.user_id)
            if first:
                presence = await self.store.presence_join(pid, member, self.settings.presence_ttl_s)
            else:
                presence = await self.store.presence(pid)
        except (HubUnavailable, OSError, ConnectionError, TimeoutError) as exc:
            log.warning("join_failed", project_id=pid, error=f"{type(exc).__name__}: {exc}")
            self.closer.close(conn, proto.CLOSE_TRY_AGAIN, "room unavailable, try again")
            return False
        except Exception as exc:  # redis errors and the like: never leave the socket hanging
            log.warning("join_failed", project_id=pid, error=f"{type(exc).__name__}: {exc}")
            self.closer.close(conn, proto.CLOSE_TRY_AGAIN, "room unavailable, try again")
            return False
        room.baseline(latest)
        try:
            await conn.send(proto.hello(pid, latest, presence, self.settings.instance, peer.role))
            if since is None:
                peer.sent_seq = latest
            else:
                self.metrics.resumes.inc()
                peer.sent_seq = since
                if since < latest:
                    if not events or events[0].seq != since + 1:
                        self.metrics.resyncs.inc()
                        await conn.send(proto.resync_required(latest))
                        peer.sent_seq = latest
                    else:
                        for event in events:
                            if event.seq > peer.sent_seq:
                                await conn.send(event.payload, text=True)
                                peer.sent_seq = event.seq
                                self.metrics.delivered += 1
            await self._flush(peer)
        except ConnectionClosed:
            return False
        return True

    async def _flush(self, peer: Peer, skip_ids: set[str] | None = None) -> None:
        """Send what queued up while catching up, then go live (pending=None) with no await in between."""
        conn = peer.conn
        pending = peer.pending
        assert pending is not None
        i = 0
        while i < len(pending):  # it may grow while we await a send
            seq, payload = pending[i]
            i += 1
            if seq:
                if seq <= peer.sent_seq:
                    continue
                peer.sent_seq = seq
            elif skip_ids and notification_id(payload) in skip_ids:
                continue
            if conn.protocol.state is not OPEN:
                return
            await conn.send(payload, text=True)
            self.metrics.delivered += 1
        peer.pending = None
        if peer.room is not None:
            peer.room.catching_up.discard(peer)

    async def _presence_leave(self, pid: str, member: str) -> None:
        try:
            await self.store.presence_leave(pid, member)
        except Exception as exc:  # expiry removes it within presence_ttl_s anyway
            log.warning("presence_leave_failed", project_id=pid, error=str(exc))

    # ---- notifications
    async def _notifications(self, peer: Peer, req: ConnectRequest) -> None:
        conn, uid = peer.conn, peer.user_id
        feed = self.feeds.get(uid)
        if feed is None:
            feed = self.feeds[uid] = UserFeed(uid, user_channel(uid), self.deps, self.feeds)  # type: ignore[arg-type]
            await self.hub.subscribe(feed)
        feed.add(peer)
        try:
            try:
                await self.hub.wait_ready(feed, self.settings.join_timeout_s)
                backlog = await self.backlog.fetch(uid, req.token)
            except BacklogRefused:
                self.closer.close(conn, proto.CLOSE_UNAUTHORIZED, "token refused")
                return
            except (HubUnavailable, BacklogUnavailable) as exc:
                log.warning("notifications_unavailable", error=str(exc))
                self.closer.close(conn, proto.CLOSE_TRY_AGAIN, "notifications unavailable, try again")
                return
            ids = {str(item.get("id")) for item in backlog.items}
            peer.skip_ids = frozenset(ids)
            try:
                await conn.send(
                    proto.dumps(
                        {
                            "type": "notifications_backlog",
                            "unread_count": backlog.unread_count,
                            "items": backlog.items,
                        }
                    )
                )
                await self._flush(peer, skip_ids=ids)
            except ConnectionClosed:
                return
            await self._read_loop(peer)
        finally:
            feed.remove(peer)

    # ---- what the client sends
    async def _read_loop(self, peer: Peer) -> None:
        conn = peer.conn
        rate, burst = self.settings.rate_limit_per_s, self.settings.rate_limit_burst
        try:
            async for message in conn:
                if not peer.allow(rate, burst):
                    self.closer.close(conn, proto.CLOSE_POLICY, "rate limit exceeded")
                    return
                try:
                    kind, doc = proto.parse_client_message(message)
                except proto.BadFrame as exc:
                    self.closer.close(conn, proto.CLOSE_POLICY, str(exc))
                    return
                if kind == "ping":
                    await conn.send(proto.PONG, text=True)
                elif kind == "auth":
                    if not await self._reauth(peer, doc.get("token")):
                        return
                else:
                    await conn.send(proto.UNKNOWN_TYPE, text=True)
        except ConnectionClosed:
            return

    async def _reauth(self, peer: Peer, token: object) -> bool:
        """``{"type":"auth","token":...}``: a fresher token of the same user extends the socket's life.

        The page refreshes its token before expiry and hands it over, instead of being closed 4401 and
        reconnecting. Any other token closes 4401; False when the socket is closing."""
        try:
            claims = self.verifier.verify(token if isinstance(token, str) else None)
        except InvalidToken as exc:
            self.closer.close(peer.conn, proto.CLOSE_UNAUTHORIZED, str(exc))
            return False
        if claims.user_id != peer.user_id:
            self.closer.close(peer.conn, proto.CLOSE_UNAUTHORIZED, "token is for another user")
            return False
        peer.exp = max(peer.exp, claims.exp)
        await peer.conn.send(proto.auth_ok(peer.exp), text=True)
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)
