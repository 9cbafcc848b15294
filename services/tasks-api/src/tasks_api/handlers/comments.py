"""Comments on tasks, with @name mentions of project members."""

from __future__ import annotations

import uuid

from boardcast_contracts import CommentData, CommentDeletedData, CommentPayload, Role
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import Comment, Member, Task, User
from tasks_api.domain.errors import Forbidden, NotFound
from tasks_api.domain.rules import find_mentions, require_role
from tasks_api.handlers.payloads import comment_payload
from tasks_api.outbox.tx import Tx


async def _task_and_role(session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID) -> tuple[Task, str]:
    row = (
        await session.execute(
            select(Task, Member.role)
            .join(Member, and_(Member.project_id == Task.project_id, Member.user_id == user_id))
            .where(Task.id == task_id, Task.is_deleted.is_(False))
        )
    ).first()
    if row is None:
        raise NotFound("task not found")
    return row[0], row[1]


async def _mentions(session: AsyncSession, project_id: uuid.UUID, body: str) -> list[str]:
    if "@" not in body:
        return []
    members = await session.execute(
        select(User.id, User.name)
        .join(Member, Member.user_id == User.id)
        .where(Member.project_id == project_id)
    )
    return find_mentions(body, [(str(i), n) for i, n in members])


async def list_comments(
    session: AsyncSession, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[CommentPayload]:
    await _task_and_role(session, user_id, task_id)
    rows = await session.scalars(
        select(Comment).where(Comment.task_id == task_id).order_by(Comment.created_at, Comment.id)
    )
    return [comment_payload(c) for c in rows]


async def create_comment(tx: Tx, user_id: uuid.UUID, task_id: uuid.UUID, body: str) -> CommentPayload:
    task, role = await _task_and_role(tx.session, user_id, task_id)
    require_role(role, Role.editor)
    comment = Comment(
        id=uuid.uuid4(),
        task_id=task.id,
        project_id=task.project_id,
        author_id=user_id,
        body=body,
        mentions=await _mentions(tx.session, task.project_id, body),
        created_at=tx.now,
        updated_at=tx.now,
    )
    tx.session.add(comment)
    payload = comment_payload(comment)
    tx.emit("comment_created", task.project_id, user_id, CommentData(comment=payload))
    await tx.commit()
    return payload


async def _load_comment(
    session: AsyncSession, user_id: uuid.UUID, comment_id: uuid.UUID
) -> tuple[Comment, str]:
    row = (
        await session.execute(
            select(Comment, Member.role)
            .join(Member, and_(Member.project_id == Comment.project_id, Member.user_id == user_id))
            .join(Task, Task.id == Comment.task_id)
            .where(Comment.id == comment_id, Task.is_deleted.is_(False))
            .with_for_update(of=Comment)
        )
    ).first()
    if row is None:
        raise NotFound("comment not found")
    return row[0], row[1]


async def update_comment(tx: Tx, user_id: uuid.UUID, comment_id: uuid.UUID, body: str) -> CommentPayload:
    comment, _role = await _load_comment(tx.session, user_id, comment_id)
    if comment.author_id != user_id:
        raise Forbidden("only the author may edit a comment")
    if comment.body == body:
        return comment_payload(comment)
    comment.body = body
    comment.mentions = await _mentions(tx.session, comment.project_id, body)
    comment.updated_at = tx.now
    payload = comment_payload(comment)
    tx.emit("comment_updated", comment.project_id, user_id, CommentData(comment=payload))
    await tx.commit()
    return payload


async def delete_comment(tx: Tx, user_id: uuid.UUID, comment_id: uuid.UUID) -> None:
    comment, role = await _load_comment(tx.session, user_id, comment_id)
    if comment.author_id != user_id and role != Role.owner.value:
        raise Forbidden("only the author or a project owner may delete a comment")
    await tx.session.delete(comment)
    tx.emit(
        "comment_deleted",
        comment.project_id,
        user_id,
        CommentDeletedData(comment_id=comment.id, task_id=comment.task_id),
    )
    await tx.commit()
