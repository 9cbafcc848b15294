"""Task use cases: create, read, update, status, assign, soft delete with cascade, restore."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from boardcast_contracts import (
    Role,
    TaskAssignedData,
    TaskCreatedData,
    TaskPayload,
    TaskStatus,
    TaskStatusChangedData,
    TaskUpdatedData,
)
from sqlalchemy import Select, String, Table, and_, bindparam, case, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tasks_api.db.models import Member, Task
from tasks_api.domain.errors import Conflict, Forbidden, Invalid, NotFound
from tasks_api.domain.rules import STATUS_ORDER, apply_status, next_position, require_role
from tasks_api.handlers.access import is_admin, is_member, role_in
from tasks_api.handlers.payloads import subtask_count_expr, task_payload
from tasks_api.outbox.tx import Tx
from tasks_api.schemas import TaskCreate, TaskUpdate

_STATUS_RANK = case({s: i for i, s in enumerate(STATUS_ORDER)}, value=Task.status)


async def _check_include_deleted(session: AsyncSession, user_id: uuid.UUID, include_deleted: bool) -> None:
    if include_deleted and not await is_admin(session, user_id):
        raise Forbidden("include_deleted is for admins only")


async def list_tasks(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, include_deleted: bool
) -> list[TaskPayload]:
    await role_in(session, project_id, user_id)
    await _check_include_deleted(session, user_id, include_deleted)
    stmt = select(Task, subtask_count_expr()).where(Task.project_id == project_id)
    if not include_deleted:
        stmt = stmt.where(Task.is_deleted == false())
    rows = await session.execute(stmt.order_by(_STATUS_RANK, Task.position, Task.created_at))
    return [task_payload(task, count) for task, count in rows]


# The hot queries are built once with bind parameters: SQLAlchemy then reuses their compiled form and cache
# key instead of rebuilding the expression tree on every request.
_LOAD = (
    select(Task, subtask_count_expr(), Member.role)
    .join(Member, and_(Member.project_id == Task.project_id, Member.user_id == bindparam("user_id")))
    .where(Task.id == bindparam("task_id"))
    .execution_options(populate_existing=True)
)
_LOAD_FOR_UPDATE = _LOAD.with_for_update(of=Task)
_column = aliased(Task)
# A status change without a position appends the card to its new column: the column's last position comes
# with the task in the same query (one round trip fewer on the hottest write).
_LOAD_FOR_STATUS = (
    _LOAD.add_columns(
        select(func.max(_column.position))
        .where(_column.project_id == Task.project_id, _column.status == bindparam("new_status", type_=String))
        .correlate(Task)
        .scalar_subquery()
        .label("last_position")
    )
).with_for_update(of=Task)

_tasks = cast(Table, Task.__table__)
_WRITE_STATUS = (
    update(_tasks)
    .where(_tasks.c.id == bindparam("task_id"))
    .values(
        status=bindparam("v_status"),
        position=bindparam("v_position"),
        blocker_reason=bindparam("v_blocker_reason"),
        blocked_since=bindparam("v_blocked_since"),
        completed_at=bindparam("v_completed_at"),
        version=bindparam("v_version"),
        updated_at=bindparam("v_updated_at"),
    )
)


async def load_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool, deleted_ok: bool = False
) -> tuple[Task, int, str]:
    """The task, its live subtask count and the caller's role in one query (locking the task to write)."""
    stmt = _LOAD_FOR_UPDATE if lock else _LOAD
    row = _found((await session.execute(stmt, {"user_id": user_id, "task_id": task_id})).first(), deleted_ok)
    return row[0], row[1], row[2]


_R = TypeVar("_R", bound=Sequence[Any])


def _found(row: _R | None, deleted_ok: bool = False) -> _R:
    """A row of one of the ``_LOAD*`` queries (the task first), or 404: no member, no task, or deleted."""
    if row is None or (row[0].is_deleted and not deleted_ok):
        raise NotFound("task not found")
    return row


async def get_task(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID, include_deleted: bool
) -> TaskPayload:
    await _check_include_deleted(session, user_id, include_deleted)
    task, count, _role = await load_task(session, user_id, task_id, lock=False, deleted_ok=include_deleted)
    return task_payload(task, count)


def _check_version(task: Task, count: int, expected: int | None) -> None:
    if expected is not None and expected != task.version:
        raise Conflict(
            f"version conflict: you sent {expected}, the task is at {task.version}",
            task=task_payload(task, count).model_dump(mode="json"),
        )


async def _check_parent(session: AsyncSession, project_id: uuid.UUID, parent_id: uuid.UUID) -> None:
    # FOR SHARE: a delete of the parent running right now is waited for, and its outcome seen.
    stmt = select(Task.project_id, Task.is_deleted).where(Task.id == parent_id).with_for_update(read=True)
    row = (await session.execute(stmt)).first()
    if row is None or row.project_id != project_id or row.is_deleted:
        raise Invalid("parent_id must be a live task of the same project")


async def _check_assignee(session: AsyncSession, project_id: uuid.UUID, assignee_id: uuid.UUID) -> None:
    if not await is_member(session, project_id, assignee_id):
        raise Invalid("the assignee must be a member of the project")


def _last_position(project_id: uuid.UUID, status: str) -> Select[float]:
    return select(func.max(Task.position)).where(Task.project_id == project_id, Task.status == status)


async def create_task(tx: Tx, user_id: uuid.UUID, project_id: uuid.UUID, body: TaskCreate) -> TaskPayload:
    session = tx.session
    row = (
        await session.execute(
            select(Member.role, _last_position(project_id, body.status).scalar_subquery()).where(
                Member.project_id == project_id, Member.user_id == user_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("project not found")
    require_role(row[0], Role.editor)
    if body.parent_id is not None:
        await _check_parent(session, project_id, body.parent_id)
    if body.assignee_id is not None:
        await _check_assignee(session, project_id, body.assignee_id)
    task = Task(
        id=uuid.uuid4(),
        project_id=project_id,
        parent_id=body.parent_id,
        title=body.title,
        description=body.description,
        status=TaskStatus.todo.value,
        position=body.position if body.position is not None else next_position(row[1]),
        assignee_id=body.assignee_id,
        priority=body.priority.value,
        due_date=body.due_date,
        estimate_hours=body.estimate_hours,
        blocker_reason=body.blocker_reason,
        blocked_since=None,
        completed_at=None,
        version=1,
        created_by=user_id,
        created_at=tx.now,
        updated_at=tx.now,
        is_deleted=False,
    )
    apply_status(task, body.status.value, tx.now)
    if body.blocker_reason is not None:
        task.blocker_reason = body.blocker_reason
    session.add(task)
    payload = task_payload(task, 0)
    tx.emit("task_created", project_id, user_id, TaskCreatedData(task=payload))
    await tx.commit()
    return payload


async def _descends_from(session: AsyncSession, candidate: uuid.UUID, ancestor: uuid.UUID) -> bool:
    """True when ``candidate`` is ``ancestor`` or lies below it (walks up the parent chain)."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = candidate
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = await session.scalar(select(Task.parent_id).where(Task.id == current))
    return False


async def update_task(
    tx: Tx, user_id: uuid.UUID, task_id: uuid.UUID, body: TaskUpdate, expected_version: int | None
) -> TaskPayload:
    session = tx.session
    task, count, role = await load_task(session, user_id, task_id, lock=True)
    require_role(role, Role.editor)
    _check_version(task, count, expected_version)
    changed: list[str] = []
    for name in sorted(body.model_fields_set):
        value = getattr(body, name)
        if hasattr(value, "value"):  # enums are stored as their string value
            value = value.value
        if getattr(task, name) == value:
            continue
        if name == "parent_id" and value is not None:
            await _check_parent(session, task.project_id, value)
            if await _descends_from(session, value, task.id):
                raise Invalid("parent_id would make the task its own ancestor")
        setattr(task, name, value)
        changed.append(name)
    if not changed:
        return task_payload(task, count)
    task.version += 1
    task.updated_at = tx.now
    payload = task_payload(task, count)
    tx.emit("task_updated", task.project_id, user_id, TaskUpdatedData(task=payload, changed=changed))
    await tx.commit()
    return payload


async def change_status(
    tx: Tx,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    status: TaskStatus,
    position: float | None,
    blocker_reason: str | None,
    expected_version: int | None,
) -> TaskPayload:
    session = tx.session
    params = {"user_id": user_id, "task_id": task_id, "new_status": status.value}
    task, count, role, last = _found((await session.execute(_LOAD_FOR_STATUS, params)).first())
    require_role(role, Role.editor)
    _check_version(task, count, expected_version)
    previous_status, previous_position = TaskStatus(task.status), task.position
    if position is None and status != previous_status:
        position = next_position(last)
    apply_status(task, status.value, tx.now)
    if position is not None:
        task.position = position
    if blocker_reason is not None and task.status == TaskStatus.blocked:
        task.blocker_reason = blocker_reason
    if (task.status, task.position) == (previous_status.value, previous_position) and blocker_reason is None:
        return task_payload(task, count)
    task.version += 1
    task.updated_at = tx.now
    payload = task_payload(task, count)
    # The hottest write (a card dragged on the board): one prebuilt UPDATE instead of the unit of work's
    # flush, which cost more CPU than the statement itself. The task leaves the session so the flush at
    # commit does not write it again.
    session.expunge(task)
    await session.execute(
        _WRITE_STATUS,
        {
            "task_id": task.id,
            "v_status": task.status,
            "v_position": task.position,
            "v_blocker_reason": task.blocker_reason,
            "v_blocked_since": task.blocked_since,
            "v_completed_at": task.completed_at,
            "v_version": task.version,
            "v_updated_at": task.updated_at,
        },
    )
    tx.emit(
        "task_status_changed",
        task.project_id,
        user_id,
        TaskStatusChangedData(
            task=payload, previous_status=previous_status, previous_position=previous_position
        ),
    )
    await tx.commit()
    return payload


async def assign_task(
    tx: Tx,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    expected_version: int | None,
) -> TaskPayload:
    session = tx.session
    task, count, role = await load_task(session, user_id, task_id, lock=True)
    require_role(role, Role.editor)
    _check_version(task, count, expected_version)
    if assignee_id is not None:
        await _check_assignee(session, task.project_id, assignee_id)
    previous = task.assignee_id
    if previous == assignee_id:
        return task_payload(task, count)
    task.assignee_id = assignee_id
    task.version += 1
    task.updated_at = tx.now
    payload = task_payload(task, count)
    tx.emit(
        "task_assigned",
        task.project_id,
        user_id,
        TaskAssignedData(task=payload, previous_assignee_id=previous),
    )
    await tx.commit()
    return payload
