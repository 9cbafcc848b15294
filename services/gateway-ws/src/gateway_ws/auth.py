"""Who is connecting: the JWT from ?token= or the bearer.<jwt> subprotocol, verified, and kept out of logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from websockets.typing import Subprotocol

BEARER_PREFIX = "bearer."
APP_SUBPROTOCOL = "boardcast.v1"

_TOKEN_RE = re.compile(r"(token=|bearer\.|Bearer\s+)[A-Za-z0-9_\-.=%]+")


class InvalidToken(Exception):
    """No token, a bad signature, missing claims or an expired token: close 4401."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    name: str
    exp: float


class TokenVerifier:
    def __init__(self, secret: str, algorithm: str = "HS256") -> None:
        self._secret = secret
        self._algorithms = [algorithm]

    def verify(self, token: str | None) -> Claims:
        if not token:
            raise InvalidToken("no token")
        try:
            doc = jwt.decode(
                token, self._secret, algorithms=self._algorithms, options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"bad token: {type(exc).__name__}") from None
        sub, exp, name = doc.get("sub"), doc.get("exp"), doc.get("name")
        if not isinstance(sub, str) or not sub or not isinstance(exp, int | float):
            raise InvalidToken("bad token claims")
        return Claims(user_id=sub, name=name if isinstance(name, str) and name else sub, exp=float(exp))


def token_from_subprotocols(offered: Sequence[str]) -> str | None:
    for proto in offered:
        if proto.startswith(BEARER_PREFIX):
            return proto[len(BEARER_PREFIX) :]
    return None


def choose_subprotocol(offered: Sequence[str]) -> Subprotocol | None:
    """Browsers fail the socket unless the server picks an offered subprotocol: ours, else the bearer one."""
    if APP_SUBPROTOCOL in offered:
        return Subprotocol(APP_SUBPROTOCOL)
    for proto in offered:
        if proto.startswith(BEARER_PREFIX):
            return Subprotocol(proto)
    return None


def redact(text: str) -> str:
    """Replace every token-looking value (query, subprotocol, Authorization) with a marker."""
    return _TOKEN_RE.sub(lambda m: m.group(1) + "[redacted]", text)


class RedactingFilter(logging.Filter):
    """Scrubs tokens from std-logging records (websockets logs request lines and handshake errors)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still must not leak or crash
            return True
        cleaned = redact(message)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(*names: str) -> None:
    for name in names or ("websockets", "websockets.server", "gateway_ws", "httpx", ""):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
