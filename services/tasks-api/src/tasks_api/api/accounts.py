"""Routes: registration, login, token refresh, the caller, user search, the admin flag."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from tasks_api.api.deps import CallerDep, ServicesDep, SessionDep, TxDep
from tasks_api.handlers import users
from tasks_api.handlers.access import load_user
from tasks_api.schemas import AdminChangeIn, LoginIn, RegisterIn, SafeStr, TokenOut, UserBrief, UserPublic

router = APIRouter(prefix="/api", tags=["accounts"])


@router.post("/auth/register", status_code=201)
async def register(body: RegisterIn, tx: TxDep, services: ServicesDep) -> UserPublic:
    return await users.register(tx, services.passwords, body)


@router.post("/auth/login")
async def login(body: LoginIn, session: SessionDep, services: ServicesDep) -> TokenOut:
    user = await users.authenticate(session, services.passwords, body.email, body.password)
    token = services.tokens.issue(user.id, user.name)
    return TokenOut(access_token=token, expires_in=services.tokens.ttl)


@router.post("/auth/refresh")
async def refresh(caller: CallerDep, session: SessionDep, services: ServicesDep) -> TokenOut:
    user = await load_user(session, caller.id)
    return TokenOut(access_token=services.tokens.issue(user.id, user.name), expires_in=services.tokens.ttl)


@router.get("/me")
async def me(caller: CallerDep, session: SessionDep) -> UserPublic:
    return await users.me(session, caller.id)


@router.get("/users")
async def search_users(
    caller: CallerDep,
    session: SessionDep,
    q: Annotated[SafeStr | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UserBrief]:
    return await users.search_users(session, q, limit)


@router.patch("/users/{user_id}/admin")
async def set_admin(user_id: uuid.UUID, body: AdminChangeIn, caller: CallerDep, tx: TxDep) -> UserPublic:
    return await users.set_admin(tx, caller.id, user_id, body.is_admin)
