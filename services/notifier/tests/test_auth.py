"""Token verification: only the configured HMAC algorithm, with sub, iat and exp all required."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from notifier.auth import AuthError, user_id_from_token

from .conftest import SECRET, token

LONG = SECRET * 2  # long enough for HS512 too, so the algorithm is what a test varies


def test_a_good_token_names_its_user() -> None:
    user = uuid.uuid4()
    assert user_id_from_token(token(user), SECRET) == user


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            lambda u: jwt.encode({"sub": str(u), "iat": 1, "exp": 2**40}, LONG, "HS512"), id="other-alg"
        ),
        pytest.param(
            lambda u: jwt.encode({"sub": str(u), "iat": 1, "exp": 2**40}, None, "none"), id="alg-none"
        ),
        pytest.param(lambda u: jwt.encode({"sub": str(u), "exp": 2**40}, LONG, "HS256"), id="no-iat"),
        pytest.param(lambda u: jwt.encode({"sub": str(u), "iat": 1}, LONG, "HS256"), id="no-exp"),
        pytest.param(lambda u: jwt.encode({"iat": 1, "exp": 2**40}, LONG, "HS256"), id="no-sub"),
        pytest.param(lambda u: token(u, ttl=-1, secret=LONG), id="expired"),
        pytest.param(lambda u: token(u, secret=LONG)[:-2], id="tampered"),
    ],
)
def test_bad_tokens_are_refused(bad: object) -> None:
    with pytest.raises(AuthError):
        user_id_from_token(bad(uuid.uuid4()), LONG)  # type: ignore[operator]


def test_the_configured_algorithm_is_honoured() -> None:
    user, now = uuid.uuid4(), int(time.time())
    hs512 = jwt.encode({"sub": str(user), "iat": now, "exp": now + 60}, LONG, "HS512")
    assert user_id_from_token(hs512, LONG, "HS512") == user
