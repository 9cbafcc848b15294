"""The event envelope of SPEC §4 and one pydantic model per event type, as a closed discriminated union."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
)

SUPPORTED_SCHEMA_VERSIONS: frozenset[int] = frozenset({1})
"""Envelope schema versions this code reads. Add the new one here before anything publishes it."""


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 has no UTC form; a validator must raise ValueError
        raise ValueError("timestamp is out of range once converted to UTC") from None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset (RFC 3339)")
    return _to_utc(value)


def _as_utc(value: datetime) -> datetime:
    # Payload timestamps may come naive from a database column that stores UTC without an offset (SQLite);
    # they are UTC, not the machine's local time, so the offset is attached rather than converted to.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else _to_utc(value)


def _rfc3339(value: datetime) -> str:
    return _as_utc(value).isoformat().replace("+00:00", "Z")


_AS_RFC3339 = PlainSerializer(_rfc3339, return_type=str, when_used="json")
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc), _AS_RFC3339]
"""A payload timestamp: naive means UTC."""
OffsetUtcDateTime = Annotated[datetime, AfterValidator(_utc), _AS_RFC3339]
"""An envelope timestamp: RFC 3339 with an offset, as SPEC §4 requires; a naive one is refused."""


class TaskStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class Role(StrEnum):
    owner = "owner"
    editor = "editor"
    viewer = "viewer"


class _Model(BaseModel):
    # Unknown fields are ignored so that a consumer of v1 keeps working when a producer adds optional fields.
    # NaN and infinity have no JSON form: refuse them when the event is built, not when a consumer reads it.
    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


class TaskPayload(_Model):
    """A task as SPEC §3 shows it; carried whole in task events so a board applies them without a refetch."""

    id: uuid.UUID
    project_id: uuid.UUID
    parent_id: uuid.UUID | None = None
    title: str
    description: str = ""
    status: TaskStatus
    position: float
    assignee_id: uuid.UUID | None = None
    priority: Priority
    due_date: date | None = None
    estimate_hours: float | None = None
    blocker_reason: str | None = None
    blocked_since: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None
    version: int = Field(ge=1)
    created_by: uuid.UUID
    created_at: UtcDateTime
    updated_at: UtcDateTime
    subtask_count: int = Field(default=0, ge=0)
    is_deleted: bool = False
    deleted_at: UtcDateTime | None = None
    deleted_by: uuid.UUID | None = None


class CommentPayload(_Model):
    id: uuid.UUID
    task_id: uuid.UUID
    project_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    mentions: list[uuid.UUID] = Field(default_factory=list)
    created_at: UtcDateTime
    updated_at: UtcDateTime


# ---- payloads (the `data` of each type) ----


class TaskCreatedData(_Model):
    task: TaskPayload


class TaskUpdatedData(_Model):
    task: TaskPayload
    changed: list[str]


class TaskStatusChangedData(_Model):
    task: TaskPayload
    previous_status: TaskStatus
    previous_position: float


class TaskAssignedData(_Model):
    task: TaskPayload
    previous_assignee_id: uuid.UUID | None = None


class TaskDeletedData(_Model):
    task_id: uuid.UUID
    deleted_ids: list[uuid.UUID]
    assignee_ids: list[uuid.UUID]


class TaskRestoredData(_Model):
    task: TaskPayload
    restored_ids: list[uuid.UUID]
    # Extension of SPEC §4: every assignee in the restored cascade, so caches can be invalidated exactly.
    assignee_ids: list[uuid.UUID] = Field(default_factory=list)


class MemberAddedData(_Model):
    user_id: uuid.UUID
    role: Role


class MemberRemovedData(_Model):
    user_id: uuid.UUID


class MemberRoleChangedData(_Model):
    user_id: uuid.UUID
    role: Role
    previous_role: Role


class CommentData(_Model):
    comment: CommentPayload


class CommentDeletedData(_Model):
    comment_id: uuid.UUID
    task_id: uuid.UUID


class AdminChangedData(_Model):
    user_id: uuid.UUID
    is_admin: bool
    admin_ids: list[uuid.UUID]


# ---- envelopes ----


class _Envelope(_Model):
    event_id: uuid.UUID
    schema_version: Literal[1] = 1
    occurred_at: OffsetUtcDateTime
    actor_id: uuid.UUID

    scope: ClassVar[str]


class ProjectEvent(_Envelope):
    """Base of every project event: routed as `project.<project_id>.<type>`, ordered by a per-project seq."""

    scope: ClassVar[str] = "project"
    project_id: uuid.UUID
    seq: int = Field(ge=1)


class AccountEvent(_Envelope):
    """Base of account events: routed as `account.<type>`, no project and no seq."""

    scope: ClassVar[str] = "account"


class TaskCreated(ProjectEvent):
    type: Literal["task_created"] = "task_created"
    data: TaskCreatedData


class TaskUpdated(ProjectEvent):
    type: Literal["task_updated"] = "task_updated"
    data: TaskUpdatedData


class TaskStatusChanged(ProjectEvent):
    type: Literal["task_status_changed"] = "task_status_changed"
    data: TaskStatusChangedData


class TaskAssigned(ProjectEvent):
    type: Literal["task_assigned"] = "task_assigned"
    data: TaskAssignedData


class TaskDeleted(ProjectEvent):
    type: Literal["task_deleted"] = "task_deleted"
    data: TaskDeletedData


class TaskRestored(ProjectEvent):
    type: Literal["task_restored"] = "task_restored"
    data: TaskRestoredData


class MemberAdded(ProjectEvent):
    type: Literal["member_added"] = "member_added"
    data: MemberAddedData


class MemberRemoved(ProjectEvent):
    type: Literal["member_removed"] = "member_removed"
    data: MemberRemovedData


class MemberRoleChanged(ProjectEvent):
    type: Literal["member_role_changed"] = "member_role_changed"
    data: MemberRoleChangedData


class CommentCreated(ProjectEvent):
    type: Literal["comment_created"] = "comment_created"
    data: CommentData


class CommentUpdated(ProjectEvent):
    type: Literal["comment_updated"] = "comment_updated"
    data: CommentData


class CommentDeleted(ProjectEvent):
    type: Literal["comment_deleted"] = "comment_deleted"
    data: CommentDeletedData


class AdminChanged(AccountEvent):
    type: Literal["admin_changed"] = "admin_changed"
    data: AdminChangedData


Event = Annotated[
    TaskCreated
    | TaskUpdated
    | TaskStatusChanged
    | TaskAssigned
    | TaskDeleted
    | TaskRestored
    | MemberAdded
    | MemberRemoved
    | MemberRoleChanged
    | CommentCreated
    | CommentUpdated
    | CommentDeleted
    | AdminChanged,
    Field(discriminator="type"),
]
"""Every event Boardcast publishes: a closed union discriminated by `type`."""

EVENT_MODELS: dict[str, type[ProjectEvent] | type[AccountEvent]] = {
    m.model_fields["type"].default: m
    for m in (
        TaskCreated,
        TaskUpdated,
        TaskStatusChanged,
        TaskAssigned,
        TaskDeleted,
        TaskRestored,
        MemberAdded,
        MemberRemoved,
        MemberRoleChanged,
        CommentCreated,
        CommentUpdated,
        CommentDeleted,
        AdminChanged,
    )
}


def event_type(event: ProjectEvent | AccountEvent) -> str:
    """The ``type`` of an event, typed as ``str`` (the field is declared per class, not on the two bases)."""
    name: str = type(event).model_fields["type"].default
    return name


PROJECT_EVENT_TYPES: frozenset[str] = frozenset(k for k, m in EVENT_MODELS.items() if m.scope == "project")
ACCOUNT_EVENT_TYPES: frozenset[str] = frozenset(k for k, m in EVENT_MODELS.items() if m.scope == "account")

EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)
