"""One rule for the shared JWT secret, so a secret that starts one service starts them all."""

from __future__ import annotations

import secrets

import pytest
from boardcast_contracts.secrets import DEV_JWT_SECRET, WeakSecret, check_jwt_secret


def test_dev_gets_the_shared_default_and_keeps_a_given_secret() -> None:
    assert check_jwt_secret("", dev=True) == DEV_JWT_SECRET
    assert check_jwt_secret("anything", dev=True) == "anything"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "it has 0"),
        ("x" * 31, "it has 31"),
        (DEV_JWT_SECRET, "'change-me'"),
        ("please-CHANGE-ME-to-something-long-enough", "'change-me'"),
        ("an-example-secret-for-the-docs-only-0123", "'example'"),
    ],
)
def test_outside_dev_short_or_placeholder_secrets_are_refused(value: str, why: str) -> None:
    with pytest.raises(WeakSecret, match="at least 32 characters outside dev mode") as refused:
        check_jwt_secret(value, dev=False)
    assert why in str(refused.value)
    assert value not in str(refused.value) or not value  # the message never repeats the secret


def test_a_random_secret_passes() -> None:
    value = secrets.token_urlsafe(48)
    assert check_jwt_secret(value, dev=False) == value
