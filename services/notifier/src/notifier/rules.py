"""Who is told what about an event (SPEC §3): pure functions from an event and a little context to drafts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from boardcast_contracts import (
    AccountEvent,
    AdminChanged,
    CommentCreated,
    CommentUpdated,
    MemberAdded,
    ProjectEvent,
    TaskAssigned,
    TaskDeleted,
    TaskStatusChanged,
)

EXCERPT_CHARS = 140
_STATUS_LABELS = {"todo": "To do", "in_progress": "In progress", "blocked": "Blocked", "done": "Done"}


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """What the notifier remembers of a task from earlier events (its projection)."""

    title: str
    assignee_id: uuid.UUID | None
    created_by: uuid.UUID


@dataclass(frozen=True, slots=True)
class RuleContext:
    task: TaskInfo | None = None
    # Users already told they were mentioned in this comment (so an edit only tells the new ones).
    already_mentioned: frozenset[uuid.UUID] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Draft:
    user_id: uuid.UUID
    kind: str
    title: str
    body: str
    task_id: uuid.UUID | None = None
    comment_id: uuid.UUID | None = None


def event_type(event: ProjectEvent | AccountEvent) -> str:
    # `type` is declared on each concrete event class, not on the two bases.
    name: str = type(event).model_fields["type"].default
    return name


def context_task_id(event: ProjectEvent | AccountEvent) -> uuid.UUID | None:
    """The task whose projection the rules need for this event, if any."""
    if isinstance(event, CommentCreated | CommentUpdated):
        return event.data.comment.task_id
    if isinstance(event, TaskDeleted):
        return event.data.task_id
    return None


def context_comment_id(event: ProjectEvent | AccountEvent) -> uuid.UUID | None:
    return event.data.comment.id if isinstance(event, CommentUpdated) else None


def drafts_for(event: ProjectEvent | AccountEvent, ctx: RuleContext) -> list[Draft]:
    """At most one draft per user, never one for the actor; the first rule to name a user wins."""
    chosen: dict[uuid.UUID, Draft] = {}
    for draft in _candidates(event, ctx):
        if draft.user_id != event.actor_id and draft.user_id not in chosen:
            chosen[draft.user_id] = draft
    return list(chosen.values())


def _quote(title: str) -> str:
    return f"“{title}”"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def _candidates(event: ProjectEvent | AccountEvent, ctx: RuleContext) -> Iterable[Draft]:
    if isinstance(event, TaskAssigned):
        task = event.data.task
        if task.assignee_id is not None and task.assignee_id != event.data.previous_assignee_id:
            yield Draft(
                task.assignee_id,
                "task_assigned",
                "Task assigned to you",
                f"You were assigned {_quote(task.title)}.",
                task.id,
            )
    elif isinstance(event, TaskStatusChanged):
        task = event.data.task
        before, after = _STATUS_LABELS[event.data.previous_status], _STATUS_LABELS[task.status]
        body = f"{_quote(task.title)} moved from {before} to {after}."
        for user_id in (task.assignee_id, task.created_by):
            if user_id is not None:
                yield Draft(user_id, "task_status_changed", "Task status changed", body, task.id)
    elif isinstance(event, TaskDeleted):
        title = _quote(ctx.task.title) if ctx.task else "A task"
        extra = len(event.data.deleted_ids) - 1
        body = f"{title} was deleted" + (f" with {extra} subtask{'s' * (extra > 1)}." if extra > 0 else ".")
        for user_id in event.data.assignee_ids:
            yield Draft(user_id, "task_deleted", "Task deleted", body, event.data.task_id)
    elif isinstance(event, MemberAdded):
        yield Draft(
            event.data.user_id,
            "member_added",
            "Added to a project",
            f"You were added to a project as {event.data.role}.",
        )
    elif isinstance(event, CommentCreated | CommentUpdated):
        yield from _comment_drafts(event, ctx)
    elif isinstance(event, AdminChanged):
        change = "granted to" if event.data.is_admin else "revoked from"
        body = f"Administrator rights were {change} user {event.data.user_id}."
        for user_id in event.data.admin_ids:
            yield Draft(user_id, "security_alert", "Security alert", body)


def _comment_drafts(event: CommentCreated | CommentUpdated, ctx: RuleContext) -> Iterable[Draft]:
    comment = event.data.comment
    on = f"On {_quote(ctx.task.title)}: " if ctx.task else ""
    text = on + _excerpt(comment.body)
    for user_id in comment.mentions:
        if user_id not in ctx.already_mentioned:
            yield Draft(user_id, "mentioned", "You were mentioned", text, comment.task_id, comment.id)
    # A new comment tells the task's assignee; an edit is not a new comment.
    if isinstance(event, CommentCreated) and ctx.task and ctx.task.assignee_id:
        yield Draft(ctx.task.assignee_id, "commented", "New comment", text, comment.task_id, comment.id)
