"""HTTP entry points: the notification endpoints of SPEC §3, plus /healthz, /readyz and /metrics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from notifier.auth import AuthError, user_id_from_token
from notifier.models import NotificationPublic, Problem, ReadAllResult, UnreadCount
from notifier.push import Pusher
from notifier.store import NotificationStore

log = structlog.get_logger("notifier.api")
router = APIRouter()
notifications = APIRouter(
    prefix="/api/notifications",
    tags=["notifications"],
    responses={401: {"model": Problem, "description": "No, bad or expired token"}},
)
_bearer = HTTPBearer(auto_error=False)


@dataclass
class Services:
    """What the routes need, built by the composition root and kept on app.state."""

    store: NotificationStore
    pusher: Pusher
    jwt_secret: str
    jwt_algorithm: str = "HS256"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> uuid.UUID:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        services = _services(request)
        return user_id_from_token(credentials.credentials, services.jwt_secret, services.jwt_algorithm)
    except AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None


ServicesDep = Annotated[Services, Depends(_services)]
CurrentUser = Annotated[uuid.UUID, Depends(_current_user)]


@notifications.get("", response_model=list[NotificationPublic])
async def list_notifications(
    user: CurrentUser,
    services: ServicesDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationPublic]:
    """The caller's notifications, newest first (only unread ones with `unread=true`)."""
    return await services.store.list_for(user, unread_only=unread, limit=limit)


@notifications.get("/unread-count", response_model=UnreadCount)
async def unread_count(user: CurrentUser, services: ServicesDep) -> UnreadCount:
    return UnreadCount(unread_count=await services.store.unread_count(user))


@notifications.post("/read-all", response_model=ReadAllResult)
async def read_all(user: CurrentUser, services: ServicesDep) -> ReadAllResult:
    marked = await services.store.mark_all_read(user)
    if marked:
        await _push_count(services, user, 0)
    return ReadAllResult(marked=marked, unread_count=await services.store.unread_count(user))


@notifications.post(
    "/{notification_id}/read",
    response_model=NotificationPublic,
    responses={404: {"model": Problem, "description": "No such notification of the caller's"}},
)
async def read_one(
    notification_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> NotificationPublic:
    result = await services.store.mark_read(user, notification_id)
    if result is None:
        raise HTTPException(404, "notification not found")
    notification, changed = result
    if changed:
        await _push_count(services, user, await services.store.unread_count(user))
    return notification


async def _push_count(services: Services, user: uuid.UUID, count: int) -> None:
    # The change is committed; a missed frame only leaves the bell stale until the gateway's next backlog
    # fetch, so it must not turn a successful request into an error.
    try:
        await services.pusher.push_unread_count(user, count)
    except (RedisError, OSError) as exc:
        log.warning("unread_count_push_failed", user_id=str(user), error=str(exc))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": Problem, "description": "Names what is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    failing = await request.app.state.readiness()
    if failing:
        return JSONResponse({"detail": f"not ready: {', '.join(failing)}"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
