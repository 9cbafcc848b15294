"""Accounts: register, login, refresh, lookups, and the admin flag (audited, critical, with an event)."""

from __future__ import annotations

import uuid

from boardcast_contracts import AdminChangedData
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import User
from tasks_api.domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from tasks_api.handlers.access import load_user
from tasks_api.outbox.tx import Tx
from tasks_api.schemas import RegisterIn, UserBrief, UserPublic
from tasks_api.security import Passwords


def user_public(user: User) -> UserPublic:
    return UserPublic(id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


async def create_user(
    tx: Tx, passwords: Passwords, email: str, name: str, password: str, *, is_admin: bool = False
) -> User:
    email = email.strip().lower()
    if await tx.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with this email exists")
    user = User(
        id=uuid.uuid4(),
        email=email,
        name=name.strip() or name,
        password_hash=await passwords.hash(password),
        is_admin=is_admin,
        created_at=tx.now,
    )
    tx.session.add(user)
    try:
        await tx.commit()
    except IntegrityError:  # a concurrent registration of the same email won the race
        raise Conflict("a user with this email exists") from None
    return user


async def register(tx: Tx, passwords: Passwords, body: RegisterIn) -> UserPublic:
    return user_public(await create_user(tx, passwords, body.email, body.name, body.password))


async def authenticate(session: AsyncSession, passwords: Passwords, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if not await passwords.verify(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("bad email or password")
    return user


async def me(session: AsyncSession, user_id: uuid.UUID) -> UserPublic:
    return user_public(await load_user(session, user_id))


async def search_users(session: AsyncSession, q: str | None, limit: int) -> list[UserBrief]:
    stmt = select(User).order_by(User.name, User.email).limit(limit)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    return [UserBrief(id=u.id, name=u.name, email=u.email) for u in await session.scalars(stmt)]


async def set_admin(tx: Tx, actor_id: uuid.UUID, target_id: uuid.UUID, make_admin: bool) -> UserPublic:
    session = tx.session
    actor = await load_user(session, actor_id)
    if not actor.is_admin:
        raise Forbidden("admins only")
    target = await session.get(User, target_id, with_for_update=True)
    if target is None:
        raise NotFound("user not found")
    if target.is_admin == make_admin:
        return user_public(target)
    admin_ids = set(await session.scalars(select(User.id).where(User.is_admin.is_(True))))
    if make_admin:
        admin_ids.add(target.id)
    else:
        admin_ids.discard(target.id)
        if not admin_ids:
            raise Conflict("this would leave no admin")
    target.is_admin = make_admin
    tx.audit(
        actor_id,
        "user.admin_change",
        "user",
        target.id,
        "critical",
        before={"is_admin": not make_admin},
        after={"is_admin": make_admin},
    )
    tx.emit(
        "admin_changed",
        None,
        actor_id,
        AdminChangedData(user_id=target.id, is_admin=make_admin, admin_ids=sorted(admin_ids)),
    )
    await tx.commit()
    return user_public(target)
