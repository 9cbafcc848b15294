"""The notifier's own tables (all prefixed `notifier_`) and the async engine that reaches them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite hands back naive values, which are UTC by construction here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class InboxRow(Base):
    """One row per event handled: written in the same transaction as its notifications (idempotency)."""

    __tablename__ = "notifier_inbox"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The live push after the commit: claimed by one delivery at a time, then marked done. A redelivery
    # finding it unpushed and unclaimed (Redis was down, or the process died) claims it and pushes again.
    push_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pushed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class NotificationRow(Base):
    __tablename__ = "notifier_notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", name="uq_notifier_notifications_user_event"),
        Index("ix_notifier_notifications_user_created", "user_id", "created_at"),
        Index(
            "ix_notifier_notifications_unread",
            "user_id",
            postgresql_where="read_at IS NULL",
            sqlite_where="read_at IS NULL",
        ),
        Index("ix_notifier_notifications_event", "event_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("notifier_inbox.event_id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # Lets a comment edit notify only the users it newly mentions.
    comment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TaskRow(Base):
    """Projection of the tasks seen in events: who to tell about a comment, and a title for a deleted task."""

    __tablename__ = "notifier_tasks"

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(500))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Events may be handled out of order across replicas; only a newer version overwrites.
    version: Mapped[int] = mapped_column(Integer)


def make_engine(url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # The dev SQLite file is shared with tasks-api: wait for its writers instead of failing at once.
        kwargs = {"connect_args": {"timeout": 15}}
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


__all__ = ["Base", "InboxRow", "NotificationRow", "TaskRow", "make_engine", "make_sessionmaker"]
