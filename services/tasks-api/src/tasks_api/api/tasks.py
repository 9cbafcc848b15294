"""Routes: tasks (with If-Match and ETag) and their comments."""

from __future__ import annotations

import uuid
from typing import Any

from boardcast_contracts import CommentPayload, TaskPayload
from fastapi import APIRouter, Response

from tasks_api.api.deps import CallerDep, IfMatchDep, SessionDep, TxDep
from tasks_api.handlers import comments, soft_delete, tasks
from tasks_api.schemas import AssignIn, CommentIn, StatusChange, TaskConflict, TaskCreate, TaskUpdate

router = APIRouter(prefix="/api", tags=["tasks"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": TaskConflict, "description": "Stale If-Match version; the body holds the current task"}
}


def _etag(response: Response, task: TaskPayload) -> TaskPayload:
    response.headers["ETag"] = f'"{task.version}"'
    return task


@router.get("/projects/{project_id}/tasks")
async def list_tasks(
    project_id: uuid.UUID, caller: CallerDep, session: SessionDep, include_deleted: bool = False
) -> list[TaskPayload]:
    return await tasks.list_tasks(session, caller.id, project_id, include_deleted)


@router.post("/projects/{project_id}/tasks", status_code=201)
async def create_task(
    project_id: uuid.UUID, body: TaskCreate, caller: CallerDep, tx: TxDep, response: Response
) -> TaskPayload:
    return _etag(response, await tasks.create_task(tx, caller.id, project_id, body))


@router.get("/tasks/{task_id}")
async def get_task(
    task_id: uuid.UUID,
    caller: CallerDep,
    session: SessionDep,
    response: Response,
    include_deleted: bool = False,
) -> TaskPayload:
    return _etag(response, await tasks.get_task(session, caller.id, task_id, include_deleted))


@router.patch("/tasks/{task_id}", responses=_CONFLICT)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    caller: CallerDep,
    tx: TxDep,
    if_match: IfMatchDep,
    response: Response,
) -> TaskPayload:
    return _etag(response, await tasks.update_task(tx, caller.id, task_id, body, if_match))


@router.patch("/tasks/{task_id}/status", responses=_CONFLICT)
async def change_status(
    task_id: uuid.UUID,
    body: StatusChange,
    caller: CallerDep,
    tx: TxDep,
    if_match: IfMatchDep,
    response: Response,
) -> TaskPayload:
    task = await tasks.change_status(
        tx, caller.id, task_id, body.status, body.position, body.blocker_reason, if_match
    )
    return _etag(response, task)


@router.patch("/tasks/{task_id}/assign", responses=_CONFLICT)
async def assign_task(
    task_id: uuid.UUID, body: AssignIn, caller: CallerDep, tx: TxDep, if_match: IfMatchDep, response: Response
) -> TaskPayload:
    return _etag(response, await tasks.assign_task(tx, caller.id, task_id, body.assignee_id, if_match))


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(task_id: uuid.UUID, caller: CallerDep, tx: TxDep) -> Response:
    await soft_delete.delete_task(tx, caller.id, task_id)
    return Response(status_code=204)


@router.post("/tasks/{task_id}/restore")
async def restore_task(task_id: uuid.UUID, caller: CallerDep, tx: TxDep, response: Response) -> TaskPayload:
    return _etag(response, await soft_delete.restore_task(tx, caller.id, task_id))


@router.get("/tasks/{task_id}/comments")
async def list_comments(task_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> list[CommentPayload]:
    return await comments.list_comments(session, caller.id, task_id)


@router.post("/tasks/{task_id}/comments", status_code=201)
async def create_comment(task_id: uuid.UUID, body: CommentIn, caller: CallerDep, tx: TxDep) -> CommentPayload:
    return await comments.create_comment(tx, caller.id, task_id, body.body)


@router.patch("/comments/{comment_id}")
async def update_comment(
    comment_id: uuid.UUID, body: CommentIn, caller: CallerDep, tx: TxDep
) -> CommentPayload:
    return await comments.update_comment(tx, caller.id, comment_id, body.body)


@router.delete("/comments/{comment_id}", status_code=204)
async def delete_comment(comment_id: uuid.UUID, caller: CallerDep, tx: TxDep) -> Response:
    await comments.delete_comment(tx, caller.id, comment_id)
    return Response(status_code=204)
