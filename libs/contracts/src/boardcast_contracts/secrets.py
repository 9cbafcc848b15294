"""The JWT secret every service shares: one rule for which secrets are fit outside dev mode.

tasks-api signs tokens, the gateway and the notifier check them; all three read ``BOARDCAST_JWT_SECRET``. They
used to judge it each by its own list of placeholders, so one secret could start one service and stop another.
"""

from __future__ import annotations

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-please"
"""The secret of ``ENV=dev`` when none is set, the same in every service: dev processes trust each other."""

MIN_JWT_SECRET_LENGTH = 32
# Fragments of the placeholders people leave in example configs; a random secret contains none of them.
_PLACEHOLDER_PARTS = (
    "change-me",
    "changeme",
    "changethis",
    "please-change",
    "placeholder",
    "dev-only",
    "example",
)


class WeakSecret(ValueError):
    """A secret not fit outside dev mode; the message says why, without repeating the secret."""


def check_jwt_secret(value: str, *, dev: bool) -> str:
    """The secret to use: in dev the given one or :data:`DEV_JWT_SECRET`; outside dev the given one if it is
    at least 32 characters and no placeholder, else :class:`WeakSecret`."""
    if dev:
        return value or DEV_JWT_SECRET
    rule = f"must be a real secret of at least {MIN_JWT_SECRET_LENGTH} characters outside dev mode"
    if len(value) < MIN_JWT_SECRET_LENGTH:
        raise WeakSecret(f"{rule} (it has {len(value)})")
    lowered = value.lower()
    for part in _PLACEHOLDER_PARTS:
        if part in lowered:
            raise WeakSecret(f"{rule} (it contains the placeholder {part!r})")
    return value
