"""Notification storage: record an event's notifications exactly once, and the queries the API serves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from boardcast_contracts import AccountEvent, ProjectEvent
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import InboxRow, NotificationRow, TaskRow
from notifier.models import Addressed, NotificationPublic
from notifier.rules import RuleContext, TaskInfo, context_comment_id, context_task_id, drafts_for, event_type

# A claim older than this is taken to belong to a delivery that died mid-push.
PUSH_CLAIM_TTL = timedelta(seconds=20)


class PushPending(Exception):
    """Another delivery of this event holds the live push; retry later (the runner's delayed retry)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of handling one event: the notifications still to push live (empty: nothing to do)."""

    notifications: list[Addressed]
    duplicate: bool
    pending: bool = False

    @property
    def user_ids(self) -> list[uuid.UUID]:
        return list(dict.fromkeys(a.user_id for a in self.notifications))


def _public(row: NotificationRow) -> NotificationPublic:
    return NotificationPublic.model_validate(row, from_attributes=True)


def _addressed(row: NotificationRow) -> Addressed:
    return Addressed(row.user_id, _public(row))


class NotificationStore:
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        self._sessions = sessions

    # ---- the consumer side

    async def record(self, event: ProjectEvent | AccountEvent) -> Recorded:
        """Write the inbox row, the task projection and the notifications in one transaction.

        A redelivered event finds its inbox row and writes nothing (see ``claim_unpushed`` for its push).
        """
        now = datetime.now(UTC)
        try:
            async with self._sessions.begin() as session:
                inbox = InboxRow(
                    event_id=event.event_id,
                    event_type=event_type(event),
                    processed_at=now,
                    push_claimed_at=now,
                )
                session.add(inbox)
                # Flush first: a duplicate fails here, before any work (on PostgreSQL it waits for a
                # concurrent replica's transaction and then fails, so two replicas never both notify).
                await session.flush()
                rows = await self._apply(session, event, now)
                if not rows:
                    inbox.pushed_at = now
            return Recorded([_addressed(r) for r in rows], duplicate=False)
        except IntegrityError as exc:
            conflict = exc
        # Usually the inbox key: already recorded, only its push may be left to do.
        recorded = await self.claim_unpushed(event.event_id)
        if recorded is None:
            # Not recorded after all: another constraint (e.g. two replicas projecting one new task at once).
            # Raise, so the message is retried rather than acked unrecorded.
            raise conflict
        return recorded

    async def _apply(
        self, session: AsyncSession, event: ProjectEvent | AccountEvent, now: datetime
    ) -> list[NotificationRow]:
        ctx = await self._context(session, event)
        await self._project_task(session, event)
        project_id = event.project_id if isinstance(event, ProjectEvent) else None
        rows = [
            NotificationRow(
                id=uuid.uuid4(),
                user_id=d.user_id,
                event_id=event.event_id,
                kind=d.kind,
                title=d.title[:200],
                body=d.body,
                project_id=project_id,
                task_id=d.task_id,
                comment_id=d.comment_id,
                actor_id=event.actor_id,
                created_at=now,
                read_at=None,
            )
            for d in drafts_for(event, ctx)
        ]
        session.add_all(rows)
        return rows

    async def _context(self, session: AsyncSession, event: ProjectEvent | AccountEvent) -> RuleContext:
        task: TaskInfo | None = None
        if (task_id := context_task_id(event)) is not None and (row := await session.get(TaskRow, task_id)):
            task = TaskInfo(row.title, row.assignee_id, row.created_by)
        already: frozenset[uuid.UUID] = frozenset()
        if (comment_id := context_comment_id(event)) is not None:
            found = await session.scalars(
                select(NotificationRow.user_id).where(
                    NotificationRow.comment_id == comment_id, NotificationRow.kind == "mentioned"
                )
            )
            already = frozenset(found)
        return RuleContext(task=task, already_mentioned=already)

    async def _project_task(self, session: AsyncSession, event: ProjectEvent | AccountEvent) -> None:
        task = getattr(getattr(event, "data", None), "task", None)
        if task is None:
            return
        row = await session.get(TaskRow, task.id)
        if row is None:
            session.add(
                TaskRow(
                    task_id=task.id,
                    project_id=task.project_id,
                    title=task.title,
                    assignee_id=task.assignee_id,
                    created_by=task.created_by,
                    version=task.version,
                )
            )
        elif task.version >= row.version:
            row.title, row.assignee_id, row.version = task.title, task.assignee_id, task.version

    async def claim_unpushed(self, event_id: uuid.UUID) -> Recorded | None:
        """For an event already recorded: if its frames never went out (Redis was down after the commit, or
        the process died), claim the push and hand back its notifications; ``pending`` while another delivery
        holds a fresh claim. None if the event is not recorded at all."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            claimed = await session.execute(
                update(InboxRow)
                .where(
                    InboxRow.event_id == event_id,
                    InboxRow.pushed_at.is_(None),
                    or_(InboxRow.push_claimed_at.is_(None), InboxRow.push_claimed_at < now - PUSH_CLAIM_TTL),
                )
                .values(push_claimed_at=now)
            )
            if claimed.rowcount == 1:
                rows = await session.scalars(
                    select(NotificationRow).where(NotificationRow.event_id == event_id)
                )
                return Recorded([_addressed(r) for r in rows], duplicate=True)
            inbox = await session.get(InboxRow, event_id)
        if inbox is None:
            return None
        return Recorded([], duplicate=True, pending=inbox.pushed_at is None)

    async def mark_pushed(self, event_id: uuid.UUID) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxRow).where(InboxRow.event_id == event_id).values(pushed_at=datetime.now(UTC))
            )

    async def release_push(self, event_id: uuid.UUID) -> None:
        """Give the claim back after a failed push, so the retry can take it at once."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxRow)
                .where(InboxRow.event_id == event_id, InboxRow.pushed_at.is_(None))
                .values(push_claimed_at=None)
            )

    # ---- the API side (every query is scoped to the caller)

    async def list_for(
        self, user_id: uuid.UUID, *, unread_only: bool, limit: int
    ) -> list[NotificationPublic]:
        query = select(NotificationRow).where(NotificationRow.user_id == user_id)
        if unread_only:
            query = query.where(NotificationRow.read_at.is_(None))
        query = query.order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc()).limit(limit)
        async with self._sessions() as session:
            return [_public(r) for r in await session.scalars(query)]

    async def unread_count(self, user_id: uuid.UUID) -> int:
        return (await self.unread_counts([user_id]))[user_id]

    async def unread_counts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        counts: dict[uuid.UUID, int] = dict.fromkeys(user_ids, 0)
        if not user_ids:
            return counts
        query = (
            select(NotificationRow.user_id, func.count())
            .where(NotificationRow.user_id.in_(user_ids), NotificationRow.read_at.is_(None))
            .group_by(NotificationRow.user_id)
        )
        async with self._sessions() as session:
            for user_id, n in await session.execute(query):
                counts[user_id] = n
        return counts

    async def mark_read(
        self, user_id: uuid.UUID, notification_id: uuid.UUID
    ) -> tuple[NotificationPublic, bool] | None:
        """The notification, now read, and whether this call changed it; None when it is not the caller's."""
        async with self._sessions.begin() as session:
            row = await session.get(NotificationRow, notification_id)
            if row is None or row.user_id != user_id:
                return None
            changed = row.read_at is None
            if changed:
                row.read_at = datetime.now(UTC)
            return _public(row), changed

    async def mark_all_read(self, user_id: uuid.UUID) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(NotificationRow)
                .where(NotificationRow.user_id == user_id, NotificationRow.read_at.is_(None))
                .values(read_at=datetime.now(UTC))
            )
            return int(result.rowcount)
