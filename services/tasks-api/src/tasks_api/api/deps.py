"""The app's adapters (built once in the composition root) and the FastAPI dependencies over them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from boardcast_contracts import AccountEvent, ProjectEvent
from boardcast_contracts.keys import affected_cache_keys
from boardcast_messaging import Broker
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tasks_api.cache import RowCache
from tasks_api.domain.errors import Unauthorized
from tasks_api.domain.rules import parse_if_match
from tasks_api.observability import Metrics
from tasks_api.outbox.relay import Relay
from tasks_api.outbox.tx import Tx
from tasks_api.security import Caller, Passwords, Tokens
from tasks_api.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    passwords: Passwords
    tokens: Tokens
    metrics: Metrics
    broker: Broker
    redis: Redis
    cache: RowCache
    relay: Relay | None

    def after_commit(self, events: list[ProjectEvent | AccountEvent]) -> None:
        """Wake the relay; drop the cache entries the events touch right away (the cache-invalidator does it
        too, via the broker: this keeps figures fresh even while the broker is down)."""
        if self.relay is not None:
            self.relay.wake(account=any(isinstance(e, AccountEvent) for e in events))
        keys: set[str] = set()
        for event in events:
            keys |= affected_cache_keys(event)
        if keys:
            self.cache.invalidate_soon(keys)

    def tx(self, session: AsyncSession) -> Tx:
        return Tx(session, on_commit=self.after_commit)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_tx(services: ServicesDep, session: SessionDep) -> Tx:
    return services.tx(session)


TxDep = Annotated[Tx, Depends(get_tx)]

_bearer = HTTPBearer(auto_error=False, description="A JWT from POST /api/auth/login")


async def get_caller(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    if credentials is None:
        raise Unauthorized("missing bearer token")
    return services.tokens.verify(credentials.credentials)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_if_match(if_match: Annotated[str | None, Header(max_length=64)] = None) -> int | None:
    return parse_if_match(if_match)


IfMatchDep = Annotated[int | None, Depends(get_if_match)]
