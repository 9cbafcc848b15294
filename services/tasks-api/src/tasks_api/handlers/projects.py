"""Projects and their members: create, list, read (fast: the gateway calls it per socket), roles, audit."""

from __future__ import annotations

import uuid

from boardcast_contracts import MemberAddedData, MemberRemovedData, MemberRoleChangedData, Role
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasks_api.db.models import Member, Project, User
from tasks_api.domain.errors import Conflict, Invalid, NotFound
from tasks_api.domain.rules import require_role
from tasks_api.handlers.access import role_in
from tasks_api.outbox.tx import Tx
from tasks_api.schemas import MemberPublic, ProjectCreate, ProjectPublic


def _public(project: Project, role: str) -> ProjectPublic:
    return ProjectPublic(
        id=project.id,
        name=project.name,
        description=project.description,
        role=Role(role),
        seq=project.last_seq,
    )


async def create_project(tx: Tx, user_id: uuid.UUID, body: ProjectCreate) -> ProjectPublic:
    project = Project(
        id=uuid.uuid4(),
        name=body.name,
        description=body.description,
        last_seq=0,
        created_by=user_id,
        created_at=tx.now,
    )
    tx.session.add(project)
    await tx.session.flush()  # the member row references the project
    tx.session.add(Member(project_id=project.id, user_id=user_id, role=Role.owner.value, created_at=tx.now))
    await tx.commit()
    return _public(project, Role.owner.value)


async def list_projects(session: AsyncSession, user_id: uuid.UUID) -> list[ProjectPublic]:
    rows = await session.execute(
        select(Project, Member.role)
        .join(Member, Member.project_id == Project.id)
        .where(Member.user_id == user_id)
        .order_by(Project.created_at, Project.id)
    )
    return [_public(project, role) for project, role in rows]


async def get_project(session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID) -> ProjectPublic:
    row = (
        await session.execute(
            select(Project, Member.role)
            .join(Member, Member.project_id == Project.id)
            .where(Project.id == project_id, Member.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("project not found")
    return _public(row[0], row[1])


async def list_members(
    session: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID
) -> list[MemberPublic]:
    await role_in(session, project_id, user_id)
    rows = await session.execute(
        select(Member.user_id, User.name, User.email, Member.role)
        .join(User, User.id == Member.user_id)
        .where(Member.project_id == project_id)
        .order_by(User.name, User.email)
    )
    return [MemberPublic(user_id=u, name=n, email=e, role=Role(r)) for u, n, e, r in rows]


async def _owner_count(session: AsyncSession, project_id: uuid.UUID) -> int:
    # Locks every owner row, so two owners demoting each other at once cannot leave the project ownerless.
    owners = await session.scalars(
        select(Member.user_id)
        .where(Member.project_id == project_id, Member.role == Role.owner.value)
        .with_for_update()
    )
    return len(owners.all())


async def _member_view(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> MemberPublic:
    user = await session.get(User, user_id)
    assert user is not None
    return MemberPublic(user_id=user_id, name=user.name, email=user.email, role=Role(role))


async def add_member(
    tx: Tx, actor_id: uuid.UUID, project_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> MemberPublic:
    session = tx.session
    require_role(await role_in(session, project_id, actor_id), Role.owner)
    if await session.get(User, user_id) is None:
        raise Invalid("no such user")
    if await session.get(Member, (project_id, user_id)) is not None:
        raise Conflict("already a member")
    session.add(Member(project_id=project_id, user_id=user_id, role=role.value, created_at=tx.now))
    tx.audit(
        actor_id,
        "project.member_add",
        "project",
        project_id,
        "info",
        after={"user_id": str(user_id), "role": role.value},
    )
    tx.emit("member_added", project_id, actor_id, MemberAddedData(user_id=user_id, role=role))
    await tx.commit()
    return await _member_view(session, project_id, user_id, role.value)


async def _target(tx: Tx, actor_id: uuid.UUID, project_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    session = tx.session
    require_role(await role_in(session, project_id, actor_id), Role.owner)
    member = await session.get(Member, (project_id, user_id), with_for_update=True)
    if member is None:
        raise NotFound("not a member of this project")
    return member


async def change_role(
    tx: Tx, actor_id: uuid.UUID, project_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> MemberPublic:
    member = await _target(tx, actor_id, project_id, user_id)
    previous = Role(member.role)
    if previous == role:
        return await _member_view(tx.session, project_id, user_id, role.value)
    if previous == Role.owner and await _owner_count(tx.session, project_id) <= 1:
        raise Conflict("a project must keep one owner")
    member.role = role.value
    tx.audit(
        actor_id,
        "project.role_change",
        "project",
        project_id,
        "warning",
        before={"user_id": str(user_id), "role": previous.value},
        after={"user_id": str(user_id), "role": role.value},
    )
    tx.emit(
        "member_role_changed",
        project_id,
        actor_id,
        MemberRoleChangedData(user_id=user_id, role=role, previous_role=previous),
    )
    await tx.commit()
    return await _member_view(tx.session, project_id, user_id, role.value)


async def remove_member(tx: Tx, actor_id: uuid.UUID, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    member = await _target(tx, actor_id, project_id, user_id)
    if member.role == Role.owner.value and await _owner_count(tx.session, project_id) <= 1:
        raise Conflict("a project must keep one owner")
    await tx.session.delete(member)
    tx.audit(
        actor_id,
        "project.member_remove",
        "project",
        project_id,
        "warning",
        before={"user_id": str(user_id), "role": member.role},
    )
    tx.emit("member_removed", project_id, actor_id, MemberRemovedData(user_id=user_id))
    await tx.commit()
