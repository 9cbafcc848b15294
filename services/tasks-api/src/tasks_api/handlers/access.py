"""Membership lookups shared by the handlers: one query that answers "may this user see this project?"."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import Member, User
from tasks_api.domain.errors import NotFound, Unauthorized


async def role_in(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The caller's role in the project; NotFound when there is no such project or they are not a member."""
    role = await session.scalar(
        select(Member.role).where(Member.project_id == project_id, Member.user_id == user_id)
    )
    if role is None:
        raise NotFound("project not found")
    return role


async def load_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise Unauthorized("the token's user no longer exists")
    return user


async def is_admin(session: AsyncSession, user_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(User.is_admin).where(User.id == user_id)))


async def is_member(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Member.user_id).where(Member.project_id == project_id, Member.user_id == user_id)
    )
    return found is not None
