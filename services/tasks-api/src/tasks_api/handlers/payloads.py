"""Rows to the contract payloads (TaskPayload, CommentPayload) that both the API and the events carry."""

from __future__ import annotations

import uuid

from boardcast_contracts import CommentPayload, Priority, TaskPayload, TaskStatus
from sqlalchemy import false, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from tasks_api.db.models import Comment, Task

_child = aliased(Task)


# Built once: constructing the expression (and its cache key) per request showed up in profiles of the hot
# write path. SQL expressions are immutable, so every query may share this one.
_SUBTASK_COUNT: ColumnElement[int] = (
    select(func.count())
    .select_from(_child)
    .where(_child.parent_id == Task.id, _child.is_deleted == false())
    .correlate(Task)
    .scalar_subquery()
    .label("subtask_count")
)


def subtask_count_expr() -> ColumnElement[int]:
    """Live direct children of ``Task``, as a correlated subquery (so a task and its count are one query)."""
    return _SUBTASK_COUNT


def task_payload(task: Task, subtask_count: int) -> TaskPayload:
    return TaskPayload(
        id=task.id,
        project_id=task.project_id,
        parent_id=task.parent_id,
        title=task.title,
        description=task.description,
        status=TaskStatus(task.status),
        position=task.position,
        assignee_id=task.assignee_id,
        priority=Priority(task.priority),
        due_date=task.due_date,
        estimate_hours=task.estimate_hours,
        blocker_reason=task.blocker_reason,
        blocked_since=task.blocked_since,
        completed_at=task.completed_at,
        version=task.version,
        created_by=task.created_by,
        created_at=task.created_at,
        updated_at=task.updated_at,
        subtask_count=subtask_count,
        is_deleted=task.is_deleted,
        deleted_at=task.deleted_at,
        deleted_by=task.deleted_by,
    )


def comment_payload(comment: Comment) -> CommentPayload:
    return CommentPayload(
        id=comment.id,
        task_id=comment.task_id,
        project_id=comment.project_id,
        author_id=comment.author_id,
        body=comment.body,
        mentions=[uuid.UUID(m) for m in comment.mentions],
        created_at=comment.created_at,
        updated_at=comment.updated_at,
    )
