"""Request and response models of the REST API (SPEC §3); tasks and comments are the contract payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from boardcast_contracts import CommentPayload, Priority, Role, TaskPayload, TaskStatus
from boardcast_contracts.events import UtcDateTime
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9000, 12, 31)


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded: refuse both as bad input (422).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _sane_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


def _sane_datetime(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ValueError("out of range") from None
    if not MIN_DATE <= value.date() <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE} and {MAX_DATE}")
    return value


SaneDateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
SafeStr = Annotated[str, AfterValidator(_storable)]
Title = Annotated[SafeStr, Field(min_length=1, max_length=200)]
LongText = Annotated[SafeStr, Field(max_length=20000)]
Name = Annotated[SafeStr, Field(min_length=1, max_length=100)]
Password = Annotated[SafeStr, Field(min_length=8, max_length=128)]
SaneDate = Annotated[date, AfterValidator(_sane_date)]
Position = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Hours = Annotated[float, Field(allow_inf_nan=False, ge=0, le=10000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- auth and users ----


class RegisterIn(_In):
    email: EmailStr
    name: Name
    password: Password


class LoginIn(_In):
    email: Annotated[SafeStr, Field(max_length=320)]
    password: Annotated[SafeStr, Field(max_length=1024)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool


class UserBrief(BaseModel):
    id: uuid.UUID
    name: str
    email: str


class AdminChangeIn(_In):
    is_admin: bool


# ---- projects and members ----


class ProjectCreate(_In):
    name: Title
    description: LongText = ""


class ProjectPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    role: Role
    seq: int


class MemberIn(_In):
    user_id: uuid.UUID
    role: Role


class MemberRoleIn(_In):
    role: Role


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    name: str
    email: str
    role: Role


# ---- tasks ----


class TaskCreate(_In):
    title: Title
    description: LongText = ""
    status: TaskStatus = TaskStatus.todo
    position: Position | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority = Priority.medium
    due_date: SaneDate | None = None
    estimate_hours: Hours | None = None
    blocker_reason: LongText | None = None
    parent_id: uuid.UUID | None = None


_NOT_NULL = ("title", "description", "priority", "position")


class TaskUpdate(_In):
    """A partial update. ``status`` and ``assignee_id`` are refused (422): they have their own endpoints."""

    title: Title | None = None
    description: LongText | None = None
    priority: Priority | None = None
    due_date: SaneDate | None = None
    estimate_hours: Hours | None = None
    blocker_reason: LongText | None = None
    parent_id: uuid.UUID | None = None
    position: Position | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_moved_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "status" in data:
                raise ValueError("status is changed with PATCH /api/tasks/{id}/status")
            if "assignee_id" in data:
                raise ValueError("assignee_id is changed with PATCH /api/tasks/{id}/assign")
        return data

    @model_validator(mode="after")
    def _no_nulls(self) -> TaskUpdate:
        for name in _NOT_NULL:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class StatusChange(_In):
    status: TaskStatus
    position: Position | None = None
    blocker_reason: LongText | None = None


class AssignIn(_In):
    assignee_id: uuid.UUID | None


class TaskConflict(BaseModel):
    detail: str
    task: TaskPayload


# ---- comments ----


class CommentIn(_In):
    body: Annotated[SafeStr, Field(min_length=1, max_length=10000)]


# ---- reports ----


class ReportItem(TaskPayload):
    assignee_name: str | None = None
    days_overdue: int | None = None


class WeeklyReport(BaseModel):
    week_start: date
    completed: list[ReportItem]
    in_progress: list[ReportItem]
    blocked: list[ReportItem]
    overdue: list[ReportItem]
    next_week: list[ReportItem]


class WorkloadRow(BaseModel):
    user_id: uuid.UUID
    name: str
    open_tasks: int
    estimate_hours: float
    overdue: int
    capacity_hours: float
    load_percent: float


class HeatmapRow(BaseModel):
    user_id: uuid.UUID
    name: str
    hours: list[float]


class HeatmapOut(BaseModel):
    days: list[date]
    rows: list[HeatmapRow]


# ---- audit ----


class AuditPublic(BaseModel):
    id: int
    at: UtcDateTime
    actor_id: uuid.UUID
    action: str
    entity: str
    entity_id: str
    sensitivity: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


__all__ = ["CommentPayload", "TaskPayload", "datetime"]
