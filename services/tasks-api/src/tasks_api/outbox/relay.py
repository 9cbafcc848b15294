"""The relay: publishes pending outbox rows in seq order per project, with confirms, then marks them sent.

- Wake-up: ``wake()`` is called right after each commit that wrote events; a slow poll is the safety net
  (rows written by another replica, or left over after a failure). Commits landing together are published
  in one pass: 2 ms of coalescing when idle, 10 ms while busy (the last pass found more than one row).
- Claiming (PostgreSQL): a relay takes ``pg_try_advisory_xact_lock`` on each project it will publish, and
  ``FOR UPDATE SKIP LOCKED`` on account rows, inside the transaction that also marks the rows sent. Another
  replica skips a project while it is claimed and, once the lock is gone, sees the rows already marked, so
  every row goes out from one relay and a project's rows never interleave between relays.
- A row is marked sent only after the broker confirmed it; a project stops at its first failure so nothing
  behind it overtakes it. While the broker is down the relay backs off and retries; writes go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from boardcast_messaging import Publisher, PublishError
from sqlalchemy import Select, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tasks_api.db.models import OutboxRow, utcnow
from tasks_api.observability import Metrics

log = structlog.get_logger("tasks_api.relay")

_LOCK_NAMESPACE = 0x0B0A  # keeps our advisory locks apart from anyone else's on the same database
# The projects with pending rows, oldest first, each with whether this relay got it (no other relay holds it).
# The lock call sits outside the LIMITed subquery, so it only runs on (and only locks) the candidates.
_CLAIM = text(
    "SELECT p, pg_try_advisory_xact_lock(:ns, hashtext(CAST(p AS text))) AS mine FROM ("
    "  SELECT project_id AS p, min(id) AS first_id FROM outbox"
    "  WHERE published_at IS NULL AND project_id IS NOT NULL"
    "  GROUP BY project_id ORDER BY first_id LIMIT :projects"
    ") AS candidates"
)


_COLUMNS = (
    OutboxRow.id,
    OutboxRow.project_id,
    OutboxRow.seq,
    OutboxRow.routing_key,
    OutboxRow.body,
    OutboxRow.event_id,
)
_PENDING = OutboxRow.published_at.is_(None)
# Built once with bind parameters (like the write path's statements): the relay runs them on every pass.
_ACCOUNT_ROWS = (
    select(*_COLUMNS)
    .where(_PENDING, OutboxRow.project_id.is_(None))
    .order_by(OutboxRow.id)
    .limit(bindparam("batch"))
)
_ACCOUNT_ROWS_LOCKED = _ACCOUNT_ROWS.with_for_update(skip_locked=True)  # account rows have no project lock


def _project_rows(claimed_only: bool) -> Select[Any]:
    where = [_PENDING, OutboxRow.project_id.is_not(None)]
    if claimed_only:
        where.append(OutboxRow.project_id.in_(bindparam("claimed", expanding=True)))
    rank = func.row_number().over(partition_by=OutboxRow.project_id, order_by=OutboxRow.seq)
    ranked = select(*_COLUMNS, rank.label("rn")).where(*where).subquery()
    return (
        select(*(ranked.c[c.key] for c in _COLUMNS))
        .where(ranked.c.rn <= bindparam("per_project"))
        .order_by(ranked.c.project_id, ranked.c.seq)
        .limit(bindparam("batch"))
    )


_PROJECT_ROWS = _project_rows(claimed_only=False)
_CLAIMED_ROWS = _project_rows(claimed_only=True)


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Callable[[], Publisher],
        metrics: Metrics,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        coalesce_seconds: float = 0.002,
        busy_coalesce_seconds: float = 0.03,
        yield_seconds: float = 0.05,
        retention_seconds: float = 7 * 86400,
        prune_every_seconds: float = 60.0,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._metrics = metrics
        self._batch = batch_size
        self._poll = poll_seconds
        self._coalesce = coalesce_seconds
        self._busy_coalesce = max(busy_coalesce_seconds, coalesce_seconds)
        self._last_pass = 0  # rows the last wake-up published
        # Another relay (a replica, or another worker of this one) held every project with pending rows in the
        # last pass: it is publishing, and its next pass takes what is pending, ours included. Stepping back
        # for ``yield_seconds`` instead of trying again on every commit keeps two busy relays from spending
        # their passes on each other's locks (measured: 2 workers lost a fifth of their writes to it).
        self._yield = yield_seconds
        self._outclaimed = False
        self._retention = retention_seconds
        self._prune_every = prune_every_seconds
        self._next_prune = 0.0
        # Account rows (no project) are looked for only when due: after this process committed one, at least
        # once per poll interval (rows another replica left, even while commits keep waking this relay), until
        # a pass has published them all, and on the final pass; a busy relay saves a statement per pass.
        self._account_wakes = 0
        self._accounts_seen = 0
        self._accounts_due_at = 0.0
        self._accounts_always = False
        self._per_project = max(1, batch_size // 4)
        self._maybe_more = False
        self._postgres = engine.dialect.name == "postgresql"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self, *, account: bool = False) -> None:
        """Publish soon: a commit wrote events (``account``: one of them belongs to no project)."""
        if account:
            self._account_wakes += 1
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Stop the loop, then publish what is still pending (bounded by ``flush_seconds``)."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        self._accounts_always = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(flush_seconds):
                while await self._drain_safely() > 0:
                    pass

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._last_pass = published = await self.drain_once()
                while published > 0 and self._maybe_more:  # a batch hit a limit: more right behind it
                    published = await self.drain_once()
                    self._last_pass += published
                backoff = 0.0
                now = asyncio.get_running_loop().time()
                if now >= self._next_prune:
                    self._next_prune = now + self._prune_every
                    await self.prune()
            except Exception as exc:  # the loop must survive any broker or database failure
                backoff = min(max(backoff * 2, 0.1), 5.0)
                log.warning("relay_retry", error=f"{type(exc).__name__}: {exc}", retry_in=backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                continue
            if self._outclaimed and self._yield:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._yield)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await _first(self._wake.wait(), self._stopping.wait())
            if self._coalesce and self._wake.is_set():
                # A moment for the commits landing right behind this one: one batch instead of one each.
                # Under load (the last pass found several rows) the moment is longer: each pass costs a
                # handful of statements however few rows it carries, so a busy relay must not run one pass
                # per commit. An idle board's single change still goes out after the short wait.
                await asyncio.sleep(self._busy_coalesce if self._last_pass > 1 else self._coalesce)

    async def _drain_safely(self) -> int:
        try:
            return await self.drain_once()
        except Exception as exc:
            log.warning("relay_flush_failed", error=f"{type(exc).__name__}: {exc}")
            return 0

    async def prune(self, batch: int = 1000, max_batches: int = 20) -> int:
        """Delete published rows older than the retention, oldest first, in bounded batches; returns how many.

        Ids grow with time, so each batch looks only at the lowest ids (the primary key): no scan of the
        rows still kept. Pending rows are never deleted, whatever their age.
        """
        cutoff = utcnow() - timedelta(seconds=self._retention)
        oldest = select(OutboxRow.id).order_by(OutboxRow.id).limit(batch).scalar_subquery()
        stmt = delete(OutboxRow).where(OutboxRow.id.in_(oldest), OutboxRow.published_at < cutoff)
        total = 0
        for _ in range(max_batches):
            async with self._engine.begin() as conn:
                deleted = (await conn.execute(stmt)).rowcount or 0
            total += deleted
            if deleted < batch // 2:
                break
        if total:
            self._metrics.outbox_pruned.inc(total)
            log.info("outbox_pruned", rows=total)
        return total

    async def drain_once(self) -> int:
        """Publish one batch of pending rows; returns how many were published. Raises when one failed."""
        wakes, now = self._account_wakes, asyncio.get_running_loop().time()
        accounts = self._accounts_always or wakes != self._accounts_seen or now >= self._accounts_due_at
        async with self._engine.connect() as conn, conn.begin():
            rows = await self._claim(conn, accounts)
            if not rows:
                if accounts:
                    self._accounts_looked(wakes, now)
                return 0
            by_project: dict[uuid.UUID | None, list[Any]] = defaultdict(list)
            for row in rows:
                by_project[row.project_id].append(row)
            self._maybe_more = len(rows) >= self._batch or any(
                len(group) >= self._per_project for group in by_project.values()
            )
            groups = list(by_project)
            results = await asyncio.gather(*(self._publish_in_order(by_project[g]) for g in groups))
            sent = [i for ids, _ in results for i in ids]
            if sent:
                await conn.execute(
                    update(OutboxRow).where(OutboxRow.id.in_(sent)).values(published_at=utcnow())
                )
        if accounts:
            account_rows = len(by_project.get(None, ()))
            account_failed = None in groups and results[groups.index(None)][1] is not None
            if account_rows < self._batch and not account_failed:
                self._accounts_looked(wakes, now)  # every pending account row went out in this pass
        failures = [err for _, err in results if err is not None]
        if failures and not sent:
            raise failures[0]  # no progress at all: the caller backs off
        if failures:
            log.warning("relay_partial", published=len(sent), error=str(failures[0]))
        return len(sent)

    def _accounts_looked(self, wakes: int, now: float) -> None:
        self._accounts_seen = wakes
        self._accounts_due_at = now + self._poll

    async def _claim(self, conn: AsyncConnection, accounts: bool) -> list[Any]:
        """Pending rows this relay may publish now: account rows (when ``accounts``), and claimed projects'
        rows in seq order.

        Each project contributes at most ``per_project`` rows, so one project stuck on a failing row (or with
        a huge backlog) cannot keep the others out of the batch.
        """
        params = {"batch": self._batch, "per_project": self._per_project}
        rows: list[Any] = []
        if self._postgres:
            candidates = (await conn.execute(_CLAIM, {"ns": _LOCK_NAMESPACE, "projects": 64})).all()
            claimed = [row.p for row in candidates if row.mine]
            self._outclaimed = bool(candidates) and not claimed
            if accounts:
                rows.extend(await conn.execute(_ACCOUNT_ROWS_LOCKED, params))
            if claimed:
                rows.extend(await conn.execute(_CLAIMED_ROWS, {**params, "claimed": claimed}))
            return rows
        if accounts:
            rows.extend(await conn.execute(_ACCOUNT_ROWS, params))
        rows.extend(await conn.execute(_PROJECT_ROWS, params))
        return rows

    async def _publish_in_order(self, rows: list[Any]) -> tuple[list[int], Exception | None]:
        sent: list[int] = []
        publisher = self._publisher()
        for row in rows:
            try:
                await publisher.publish(row.routing_key, bytes(row.body), message_id=str(row.event_id))
            except (PublishError, OSError, TimeoutError, RuntimeError) as exc:
                self._metrics.publish_failures.inc()
                return sent, exc
            self._metrics.events_published.inc()
            sent.append(row.id)
        return sent, None


async def _first(*aws: Any) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
