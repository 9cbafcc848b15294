"""Error rendering: domain errors to their status codes, and validation errors without echoing the input."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tasks_api.domain.errors import DomainError, Invalid, Unauthorized


class ErrorOut(BaseModel):
    """Every error body: ``detail`` says what went wrong (a 409 on a stale version adds ``task``)."""

    model_config = ConfigDict(extra="allow")
    detail: Any


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "No, bad or expired token"),
        (403, "Authenticated but not allowed"),
        (404, "Not found, or not a member of its project"),
        (409, "Version or state conflict"),
    )
}


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, Invalid):
        # The same shape as a request validation error, so a client handles every 422 one way.
        loc = exc.extra.get("loc", ["body"])
        return JSONResponse(
            {"detail": [{"loc": loc, "msg": exc.detail, "type": "value_error"}]}, status_code=422
        )
    return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code, headers=headers)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The raw input is left out: it may be huge, or text that cannot even be encoded back (lone surrogates).
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _database(_request: Request, exc: Exception) -> JSONResponse:
    # Serialization failures and deadlocks under contention are the client's to retry, not a crash.
    code = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "code", None)
    if code in ("40001", "40P01") or isinstance(exc, IntegrityError):
        # A concurrent change won (deadlock, serialization, or a row it removed): the client may retry.
        return JSONResponse({"detail": "conflicting concurrent change; retry"}, status_code=409)
    return JSONResponse({"detail": "database unavailable"}, status_code=503)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # a body that is not even JSON: SPEC §3 calls every bad body a 422
        detail = [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DBAPIError, _database)
