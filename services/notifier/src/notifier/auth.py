"""Bearer JWT verification (HS256, shared secret): the caller's user id, or 401."""

from __future__ import annotations

import uuid

import jwt

ALGORITHMS = ["HS256"]


class AuthError(Exception):
    """No, malformed, badly signed or expired token."""


def user_id_from_token(token: str, secret: str) -> uuid.UUID:
    try:
        claims = jwt.decode(token, secret, algorithms=ALGORITHMS, options={"require": ["sub", "exp", "iat"]})
        return uuid.UUID(str(claims["sub"]))
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthError("invalid token") from None
