"""Checks every service's settings make alike."""

from __future__ import annotations


def url_outside_dev(value: str | None, env: object) -> str | None:
    """A broker or store URL: optional in dev (the embedded bus and store), required anywhere else."""
    if not value and env != "dev":
        raise ValueError("must be set outside dev mode (only dev has the embedded bus and store)")
    return value or None
