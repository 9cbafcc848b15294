"""Routes: projects and members."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from tasks_api.api.deps import CallerDep, SessionDep, TxDep
from tasks_api.handlers import projects
from tasks_api.schemas import MemberIn, MemberPublic, MemberRoleIn, ProjectCreate, ProjectPublic

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("", status_code=201)
async def create_project(body: ProjectCreate, caller: CallerDep, tx: TxDep) -> ProjectPublic:
    return await projects.create_project(tx, caller.id, body)


@router.get("")
async def list_projects(caller: CallerDep, session: SessionDep) -> list[ProjectPublic]:
    return await projects.list_projects(session, caller.id)


@router.get("/{project_id}")
async def get_project(project_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> ProjectPublic:
    return await projects.get_project(session, caller.id, project_id)


@router.get("/{project_id}/members")
async def list_members(project_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> list[MemberPublic]:
    return await projects.list_members(session, caller.id, project_id)


@router.post("/{project_id}/members", status_code=201)
async def add_member(project_id: uuid.UUID, body: MemberIn, caller: CallerDep, tx: TxDep) -> MemberPublic:
    return await projects.add_member(tx, caller.id, project_id, body.user_id, body.role)


@router.patch("/{project_id}/members/{user_id}")
async def change_role(
    project_id: uuid.UUID, user_id: uuid.UUID, body: MemberRoleIn, caller: CallerDep, tx: TxDep
) -> MemberPublic:
    return await projects.change_role(tx, caller.id, project_id, user_id, body.role)


@router.delete("/{project_id}/members/{user_id}", status_code=204)
async def remove_member(project_id: uuid.UUID, user_id: uuid.UUID, caller: CallerDep, tx: TxDep) -> Response:
    await projects.remove_member(tx, caller.id, project_id, user_id)
    return Response(status_code=204)
