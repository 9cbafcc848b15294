"""Unit tests of the pure rules: status side effects, positions, roles, If-Match, mentions, report windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from boardcast_contracts import Role
from tasks_api.domain.errors import Forbidden, Invalid
from tasks_api.domain.reports import heatmap_days, load_percent, week_window
from tasks_api.domain.rules import apply_status, find_mentions, next_position, parse_if_match, require_role
from tasks_api.settings import Settings, SettingsError

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


@dataclass
class T:
    status: str = "todo"
    blocked_since: datetime | None = None
    completed_at: datetime | None = None
    blocker_reason: str | None = None


def test_entering_and_leaving_blocked_sets_and_clears_blocked_since():
    t = T()
    apply_status(t, "blocked", NOW)
    assert t.blocked_since == NOW and t.completed_at is None
    t.blocker_reason = "waiting"
    apply_status(t, "in_progress", NOW)
    assert t.blocked_since is None and t.blocker_reason is None and t.status == "in_progress"


def test_done_sets_completed_at_and_reopening_clears_it():
    t = T()
    apply_status(t, "done", NOW)
    assert t.completed_at == NOW
    apply_status(t, "todo", NOW)
    assert t.completed_at is None


def test_same_status_changes_nothing():
    t = T(status="blocked", blocked_since=datetime(2025, 1, 1, tzinfo=UTC))
    apply_status(t, "blocked", NOW)
    assert t.blocked_since == datetime(2025, 1, 1, tzinfo=UTC)


def test_positions_append_after_the_last_card():
    assert next_position(None) > 0
    assert next_position(5.0) > 5.0


def test_roles_rank():
    require_role("owner", Role.editor)
    require_role("editor", Role.editor)
    with pytest.raises(Forbidden):
        require_role("viewer", Role.editor)
    with pytest.raises(Forbidden):
        require_role("editor", Role.owner)


@pytest.mark.parametrize(
    ("header", "version"), [(None, None), ("*", None), ("3", 3), ('"7"', 7), ('W/"2"', 2)]
)
def test_if_match_forms(header, version):
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ["abc", "", "-1", "1.5", "\uff19", "1" * 20])
def test_if_match_garbage_is_invalid(header):
    with pytest.raises(Invalid):
        parse_if_match(header)


def test_mentions_match_member_names_case_insensitively_and_at_word_end():
    members = [("a", "Ann"), ("b", "Ann Lee"), ("c", "Bob")]
    assert set(find_mentions("hi @ann lee and @BOB!", members)) == {"b", "c"}
    assert find_mentions("mail bob@annex.com", members) == []
    assert find_mentions("no at sign", members) == []


def test_week_window_and_heatmap_range():
    assert week_window(date(2026, 1, 8), date(2000, 1, 1)) == (date(2026, 1, 5), date(2026, 1, 11))
    days = heatmap_days(date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 1))
    assert days == [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)]
    with pytest.raises(Invalid):
        heatmap_days(date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(Invalid):
        heatmap_days(date(2020, 1, 1), date(2026, 1, 1), date(2026, 1, 1))
    assert load_percent(20, 40) == 50.0


def test_placeholder_secret_refused_outside_dev_but_allowed_in_dev():
    urls = {"amqp_url": "amqp://x", "redis_url": "redis://x"}
    with pytest.raises(ValueError, match="BOARDCAST_JWT_SECRET"):
        Settings(env="production", jwt_secret="change-me", **urls)
    with pytest.raises(ValueError, match="BOARDCAST_JWT_SECRET"):
        Settings(env="production", jwt_secret="short", **urls)
    assert Settings(env="production", jwt_secret="k" * 40, **urls).jwt_secret == "k" * 40
    assert Settings(env="dev").is_dev
    with pytest.raises(ValueError, match="BOARDCAST_AMQP_URL"):
        Settings(env="production", jwt_secret="k" * 40, redis_url="redis://x")
    assert issubclass(SettingsError, ValueError)


def test_allowed_origins_accept_commas_or_json(monkeypatch):
    monkeypatch.setenv("BOARDCAST_ALLOWED_ORIGINS", "http://a:1, http://b:2")
    assert Settings(env="dev").allowed_origins == ["http://a:1", "http://b:2"]
    monkeypatch.setenv("BOARDCAST_ALLOWED_ORIGINS", '["http://c"]')
    assert Settings(env="dev").allowed_origins == ["http://c"]


def test_a_remembered_token_still_expires_and_the_memo_is_bounded(monkeypatch):
    import time as clock

    import jwt as pyjwt
    from tasks_api.domain.errors import Unauthorized
    from tasks_api.security import Tokens

    secret = "s" * 40
    tokens = Tokens(Settings(env="dev", jwt_secret=secret))
    decodes = []
    real_decode = pyjwt.decode
    monkeypatch.setattr(pyjwt, "decode", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))

    def token(sub: str, ttl: float) -> str:
        now = clock.time()
        return pyjwt.encode({"sub": sub, "iat": int(now), "exp": now + ttl}, secret)

    short = token("7b0c5a4e-0000-4000-8000-000000000001", 1.0)
    assert tokens.verify(short) == tokens.verify(short)
    assert len(decodes) == 1  # the second answer came from the memo
    clock.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify(short)
    monkeypatch.setattr(Tokens, "MEMO_SIZE", 3)
    for i in range(10):
        tokens.verify(token(f"7b0c5a4e-0000-4000-8000-00000000001{i}", 60))
        assert len(tokens._verified) <= 3
    good = token("7b0c5a4e-0000-4000-8000-000000000002", 60)
    tokens.verify(good)
    with pytest.raises(Unauthorized, match="invalid"):
        tokens.verify(good[:-2] + ("xx" if not good.endswith("xx") else "yy"))
