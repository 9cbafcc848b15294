"""Password hashing (argon2id) and JWT issue/verify (PyJWT, HS256 by default; sub, iat, exp, name)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tasks_api.domain.errors import Unauthorized
from tasks_api.settings import Settings


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a valid token says is calling."""

    id: uuid.UUID
    name: str


class Passwords:
    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
        )
        # Verifying against this keeps a login for an unknown email as slow as one for a known email.
        self._dummy = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        # argon2 is deliberately slow: run it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored or self._dummy, password) and stored is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


class Tokens:
    # Verified tokens are remembered until they expire: a client sends the same token with every request, and
    # checking its signature and claims again each time was a measurable share of a write's CPU. Bounded: the
    # memo is emptied when full (the next request of each client verifies again).
    MEMO_SIZE = 10_000

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._algorithm = settings.jwt_algorithm
        self.ttl = settings.token_ttl_seconds
        self._verified: dict[str, tuple[Caller, float]] = {}

    def issue(self, user_id: uuid.UUID, name: str) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "name": name, "iat": now, "exp": now + timedelta(seconds=self.ttl)}
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def verify(self, token: str) -> Caller:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self._verified[token]
        caller, exp = self._decode(token)
        if len(self._verified) >= self.MEMO_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, exp)
        return caller

    def _decode(self, token: str) -> tuple[Caller, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["sub", "exp", "iat"]},
            )
            caller = Caller(id=uuid.UUID(str(claims["sub"])), name=str(claims.get("name", "")))
            return caller, float(claims["exp"])
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise Unauthorized("invalid token") from None
