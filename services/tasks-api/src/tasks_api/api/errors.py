"""Error rendering: domain errors to their status codes, and validation errors without echoing the input."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from tasks_api.domain.errors import DomainError, Unauthorized


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
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
    if code in ("40001", "40P01"):
        return JSONResponse({"detail": "conflicting concurrent change; retry"}, status_code=409)
    return JSONResponse({"detail": "database unavailable"}, status_code=503)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(DBAPIError, _database)
