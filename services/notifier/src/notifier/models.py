"""The notification as SPEC §3 shows it, and the live frames of SPEC §5 built from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from boardcast_contracts.events import UtcDateTime  # RFC 3339 with "Z", as the events carry them
from pydantic import BaseModel, ConfigDict


class NotificationPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    actor_id: uuid.UUID
    created_at: UtcDateTime
    read_at: UtcDateTime | None


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
