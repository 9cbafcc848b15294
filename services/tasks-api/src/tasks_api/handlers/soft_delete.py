"""Soft delete with cascade to every live descendant, and restore of exactly what that delete removed."""

from __future__ import annotations

import uuid

from boardcast_contracts import Role, TaskDeletedData, TaskPayload, TaskRestoredData
from sqlalchemy import false, select, true, update
from sqlalchemy.orm import aliased

from tasks_api.db.models import Task
from tasks_api.domain.errors import Conflict
from tasks_api.domain.rules import require_role
from tasks_api.handlers.payloads import task_payload
from tasks_api.handlers.tasks import load_task
from tasks_api.outbox.tx import Tx


async def delete_task(tx: Tx, user_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Soft-delete the task and, in the same statement, every live descendant; one task_deleted event."""
    session = tx.session
    task, _count, role = await load_task(session, user_id, task_id, lock=True)
    require_role(role, Role.editor)
    tree = select(Task.id).where(Task.id == task.id).cte("tree", recursive=True)
    child = aliased(Task)
    tree = tree.union_all(
        select(child.id).join(tree, child.parent_id == tree.c.id).where(child.is_deleted == false())
    )
    result = await session.execute(
        update(Task)
        .where(Task.id.in_(select(tree.c.id)), Task.is_deleted == false())
        .values(
            is_deleted=True,
            deleted_at=tx.now,
            deleted_by=user_id,
            deleted_with=task.id,
            version=Task.version + 1,
            updated_at=tx.now,
        )
        .returning(Task.id, Task.assignee_id)
        .execution_options(synchronize_session=False)
    )
    rows = result.all()
    deleted_ids = [task.id, *sorted(i for i, _ in rows if i != task.id)]
    assignee_ids = sorted({a for _, a in rows if a is not None})
    tx.audit(
        user_id,
        "task.delete",
        "task",
        task.id,
        "info",
        before={"title": task.title, "project_id": str(task.project_id)},
        after={"deleted_ids": [str(i) for i in deleted_ids]},
    )
    tx.emit(
        "task_deleted",
        task.project_id,
        user_id,
        TaskDeletedData(task_id=task.id, deleted_ids=deleted_ids, assignee_ids=assignee_ids),
    )
    await tx.commit()


async def restore_task(tx: Tx, user_id: uuid.UUID, task_id: uuid.UUID) -> TaskPayload:
    """Bring back the task and exactly the descendants its delete removed (not ones deleted before)."""
    session = tx.session
    task, _count, role = await load_task(session, user_id, task_id, lock=True, deleted_ok=True)
    require_role(role, Role.editor)
    if not task.is_deleted:
        raise Conflict("the task is not deleted")
    if task.parent_id is not None:
        parent_deleted = await session.scalar(select(Task.is_deleted).where(Task.id == task.parent_id))
        if parent_deleted:
            raise Conflict("the parent task is still deleted; restore it first")
    batch = task.deleted_with or task.id
    result = await session.execute(
        update(Task)
        .where(Task.deleted_with == batch, Task.is_deleted == true())
        .values(
            is_deleted=False,
            deleted_at=None,
            deleted_by=None,
            deleted_with=None,
            version=Task.version + 1,
            updated_at=tx.now,
        )
        .returning(Task.id, Task.assignee_id)
        .execution_options(synchronize_session=False)
    )
    rows = result.all()
    task, count, _role = await load_task(session, user_id, task_id, lock=False)
    restored_ids = [task.id, *sorted(i for i, _ in rows if i != task.id)]
    assignee_ids = sorted({a for _, a in rows if a is not None})
    payload = task_payload(task, count)
    tx.audit(
        user_id,
        "task.restore",
        "task",
        task.id,
        "info",
        after={"restored_ids": [str(i) for i in restored_ids]},
    )
    tx.emit(
        "task_restored",
        task.project_id,
        user_id,
        TaskRestoredData(task=payload, restored_ids=restored_ids, assignee_ids=assignee_ids),
    )
    await tx.commit()
    return payload
