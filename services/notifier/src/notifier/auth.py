"""Bearer JWT verification (HS256, shared secret): the caller's user id, or 401."""

from __future__ import annotations

import uuid

import jwt


class AuthError(Exception):
    """No, malformed, badly signed or expired token."""


def user_id_from_token(token: str, secret: str, algorithm: str = "HS256") -> uuid.UUID:
    try:
        claims = jwt.decode(token, secret, algorithms=[algorithm], options={"require": ["sub", "exp", "iat"]})
        return uuid.UUID(str(claims["sub"]))
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise AuthError("invalid token") from None
