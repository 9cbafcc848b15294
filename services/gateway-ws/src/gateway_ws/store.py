"""The Redis room store: per-project history, latest seq, live channel, presence, revocation markers.

Keys (``P`` = the ``redis_prefix`` setting, ``pid`` = project id):

- ``P:room:pid:stream``  stream of envelopes, entry id ``<seq>-0``, field ``e`` = the envelope JSON,
  ``t`` = ingest time (ms). Capped by ``history_max_len`` (approximate) and ``history_max_age_s`` (the key
  expires when idle; old entries are trimmed from the head as the room goes on).
- ``P:room:pid:last``    the latest ingested seq (dedupe and gap detection; survives history trimming).
- ``P:room:pid:live``    pub/sub: ``e <seq> <occurred_ms> <type>\\n<envelope>``, or ``p`` (presence changed).
- ``P:room:pid:presence`` sorted set of ``<user_id>\\t<instance>\\t<name>`` scored by expiry time (epoch s).
- ``P:room:pid:revoked:<user_id>`` seq of the member_removed that revoked this user (short TTL).
- ``P:user:<user_id>:conns`` sorted set of ``<instance>#<n>``, one per open socket of that user on any
  replica, scored by expiry time (epoch s): the fleet-wide per-user connection limit. Refreshed with
  presence, so a crashed replica's entries lapse within ``presence_ttl_s``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

PRESENCE_CHANGED = b"p"
AGE_TRIM_EVERY = 64


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class AppendResult:
    status: str  # "added" | "duplicate" | "gap"
    previous: int


def live_message(seq: int, occurred_ms: int, event_type: str, payload: bytes) -> bytes:
    return b"e %d %d %s\n" % (seq, occurred_ms, event_type.encode()) + payload


class RoomStore:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        max_len: int = 5000,
        max_age_s: float = 3600.0,
        revocation_ttl_s: float = 300.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_len = max_len
        self.max_age_s = max_age_s
        self.revocation_ttl_s = revocation_ttl_s

    # ---- key names
    def stream_key(self, pid: str) -> str:
        return f"{self.prefix}:room:{pid}:stream"

    def last_key(self, pid: str) -> str:
        return f"{self.prefix}:room:{pid}:last"

    def channel(self, pid: str) -> str:
        return f"{self.prefix}:room:{pid}:live"

    def presence_key(self, pid: str) -> str:
        return f"{self.prefix}:room:{pid}:presence"

    def revoked_key(self, pid: str, user_id: str) -> str:
        return f"{self.prefix}:room:{pid}:revoked:{user_id}"

    # ---- ingest side
    async def append(
        self,
        pid: str,
        seq: int,
        event_type: str,
        occurred_ms: int,
        payload: bytes,
        *,
        revoke_user: str | None = None,
        restore_user: str | None = None,
    ) -> AppendResult:
        """Write one event to history and publish it, atomically and at most once per seq.

        WATCH on the ``last`` key makes the check-then-write safe even if two ingesters overlap (a broker
        redelivery during a consumer hand-over): the loser's EXEC aborts and it re-reads ``last``.
        """
        stream, last_key = self.stream_key(pid), self.last_key(pid)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(last_key)
                    raw = await pipe.get(last_key)
                    previous = int(raw) if raw is not None else 0
                    if seq <= previous:
                        return AppendResult("duplicate", previous)
                    gap = previous > 0 and seq != previous + 1
                    pipe.multi()
                    if gap:
                        # History must never hide a hole: start it afresh, so a resume across the hole
                        # gets resync_required instead of a silent gap.
                        pipe.delete(stream)
                    pipe.xadd(
                        stream,
                        {"e": payload, "t": int(time.time() * 1000)},
                        id=f"{seq}-0",
                        maxlen=self.max_len,
                        approximate=True,
                    )
                    pipe.set(last_key, seq, ex=max(int(self.max_age_s * 4), 7 * 86400))
                    pipe.expire(stream, int(self.max_age_s) + 1)
                    if revoke_user:
                        pipe.set(self.revoked_key(pid, revoke_user), seq, ex=int(self.revocation_ttl_s))
                    if restore_user:
                        pipe.delete(self.revoked_key(pid, restore_user))
                    pipe.publish(self.channel(pid), live_message(seq, occurred_ms, event_type, payload))
                    await pipe.execute()
                except WatchError:
                    continue
            if seq % AGE_TRIM_EVERY == 0:
                await self.trim_by_age(pid)
            return AppendResult("gap" if gap else "added", previous)

    async def trim_by_age(self, pid: str) -> None:
        """Drop entries older than the age cap from the stream head (ids are seqs, so read ``t``)."""
        stream = self.stream_key(pid)
        cutoff = int((time.time() - self.max_age_s) * 1000)
        head: Any = await self.redis.xrange(stream, "-", "+", count=AGE_TRIM_EVERY * 4)
        keep_from = None
        for entry_id, fields in head:
            if int(fields.get(b"t", b"0")) >= cutoff:
                keep_from = entry_id
                break
        if keep_from is None and head:
            # Everything we looked at is too old: trim past it; the rest is checked next time.
            keep_from = b"%d-0" % (_seq_of(head[-1][0]) + 1)
        if keep_from is not None and head and keep_from != head[0][0]:
            await self.redis.xtrim(stream, minid=keep_from, approximate=False)

    # ---- reader side
    async def latest(self, pid: str) -> int:
        raw = await self.redis.get(self.last_key(pid))
        return int(raw) if raw is not None else 0

    async def snapshot(self, pid: str, since: int | None, user_id: str) -> tuple[int, list[StoredEvent], int]:
        """(latest seq, events with seq > since, revocation seq of user or 0) in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self.last_key(pid))
        pipe.get(self.revoked_key(pid, user_id))
        if since is not None:
            pipe.xrange(self.stream_key(pid), f"{since + 1}-0", "+")
        results: list[Any] = await pipe.execute()
        latest = int(results[0]) if results[0] is not None else 0
        revoked = int(results[1]) if results[1] is not None else 0
        events: list[StoredEvent] = []
        if since is not None:
            events = [StoredEvent(_seq_of(eid), fields[b"e"]) for eid, fields in results[2]]
        return latest, events, revoked

    async def range_after(self, pid: str, after: int, upto: int | None = None) -> list[StoredEvent]:
        end = f"{upto}-0" if upto is not None else "+"
        rows: Any = await self.redis.xrange(self.stream_key(pid), f"{after + 1}-0", end)
        return [StoredEvent(_seq_of(eid), fields[b"e"]) for eid, fields in rows]

    # ---- per-user connection count (all replicas)
    def user_conns_key(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}:conns"

    async def claim_connection(self, user_id: str, member: str, limit: int, ttl_s: float) -> bool:
        """Count one more socket of ``user_id``; False (and not counted) when that would pass ``limit``.

        One MULTI: lapsed entries go, this one is added, the count read. Two claims racing for the last slot
        are ordered by Redis, so one of them sees the count over the limit and takes its entry back.
        """
        key, now = self.user_conns_key(user_id), time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {member: now + ttl_s})
        pipe.zcard(key)
        pipe.expire(key, int(ttl_s * 4) + 1)
        results = await pipe.execute()
        if int(results[2]) <= limit:
            return True
        await self.redis.zrem(key, member)
        return False

    async def release_connection(self, user_id: str, member: str) -> None:
        await self.redis.zrem(self.user_conns_key(user_id), member)

    async def refresh_connections(self, users: dict[str, list[str]], ttl_s: float) -> None:
        """Re-arm the entries of this replica's open sockets."""
        if not users:
            return
        expiry = time.time() + ttl_s
        pipe = self.redis.pipeline(transaction=False)
        for user_id, members in users.items():
            if members:
                key = self.user_conns_key(user_id)
                pipe.zadd(key, dict.fromkeys(members, expiry))
                pipe.expire(key, int(ttl_s * 4) + 1)
        await pipe.execute()

    # ---- presence
    @staticmethod
    def presence_member(user_id: str, instance: str, name: str) -> str:
        return f"{user_id}\t{instance}\t{name}"

    async def presence_join(self, pid: str, member: str, ttl_s: float) -> list[dict[str, str]]:
        key, now = self.presence_key(pid), time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(key, {member: now + ttl_s})
        pipe.expire(key, int(ttl_s * 4) + 1)
        pipe.zrangebyscore(key, now, "+inf")
        pipe.publish(self.channel(pid), PRESENCE_CHANGED)
        results = await pipe.execute()
        return presence_list(results[2])

    async def presence_leave(self, pid: str, member: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self.presence_key(pid), member)
        pipe.publish(self.channel(pid), PRESENCE_CHANGED)
        await pipe.execute()

    async def presence(self, pid: str) -> list[dict[str, str]]:
        members: Any = await self.redis.zrangebyscore(self.presence_key(pid), time.time(), "+inf")
        return presence_list(members)

    async def presence_refresh(self, rooms: dict[str, list[str]], ttl_s: float) -> list[str]:
        """Re-arm this replica's entries and prune expired ones; returns rooms where someone expired."""
        if not rooms:
            return []
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        order = list(rooms)
        for pid in order:
            key = self.presence_key(pid)
            if rooms[pid]:
                pipe.zadd(key, dict.fromkeys(rooms[pid], now + ttl_s))
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.expire(key, int(ttl_s * 4) + 1)
        results = await pipe.execute()
        step = [3 if rooms[pid] else 2 for pid in order]
        changed, i = [], 0
        for pid, n in zip(order, step, strict=True):
            if results[i + n - 2]:
                changed.append(pid)
            i += n
        for pid in changed:
            await self.redis.publish(self.channel(pid), PRESENCE_CHANGED)
        return changed


def presence_list(members: list[bytes]) -> list[dict[str, str]]:
    seen: dict[str, str] = {}
    for raw in members:
        parts = raw.decode().split("\t", 2)
        if len(parts) == 3:
            seen.setdefault(parts[0], parts[2])
    return [
        {"user_id": uid, "name": name} for uid, name in sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))
    ]


def _seq_of(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])
