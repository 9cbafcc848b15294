"""The notification as SPEC §3 shows it, and the live frames of SPEC §5 built from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]


class NotificationPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    actor_id: uuid.UUID
    created_at: Timestamp
    read_at: Timestamp | None


@dataclass(frozen=True, slots=True)
class Addressed:
    """A notification and the user it belongs to (the public shape does not name its owner)."""

    user_id: uuid.UUID
    notification: NotificationPublic


class UnreadCount(BaseModel):
    unread_count: int


class Problem(BaseModel):
    detail: str


class ReadAllResult(BaseModel):
    marked: int
    unread_count: int


def notification_frame(notification: NotificationPublic) -> dict[str, Any]:
    return {"type": "notification", "notification": notification.model_dump(mode="json")}


def unread_count_frame(count: int) -> dict[str, Any]:
    return {"type": "unread_count", "unread_count": count}
