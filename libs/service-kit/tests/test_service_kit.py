"""The shared service plumbing: the settings rule, the one-line exit on a bad setting, the JSON log line."""

from __future__ import annotations

import json

import pytest
import structlog
from boardcast_service_kit import configure_logging, settings_or_exit, url_outside_dev
from pydantic import BaseModel, Field


def test_urls_are_optional_only_in_dev() -> None:
    assert url_outside_dev(None, "dev") is None
    assert url_outside_dev("", "dev") is None
    assert url_outside_dev("redis://x", "production") == "redis://x"
    with pytest.raises(ValueError, match="outside dev mode"):
        url_outside_dev(None, "production")


class _Settings(BaseModel):
    redis_url: str = Field(min_length=3)


def test_a_bad_setting_exits_with_one_line_naming_it() -> None:
    with pytest.raises(SystemExit) as exited:
        settings_or_exit(lambda: _Settings(redis_url="x"), "probe")
    message = str(exited.value.code)
    assert message.startswith("probe: bad setting BOARDCAST_REDIS_URL: ") and "\n" not in message
    assert settings_or_exit(lambda: _Settings(redis_url="redis://x"), "probe").redis_url == "redis://x"


def test_log_lines_are_json_with_level_time_and_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    before = structlog.get_config()  # the configuration is process-wide: give the next tests theirs back
    configure_logging("info")
    try:
        with structlog.contextvars.bound_contextvars(request_id="r-1"):
            structlog.get_logger("probe").info("hello", answer=42)
            structlog.get_logger("probe").debug("not shown at info")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    finally:
        structlog.configure(**before)
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "hello" and line["answer"] == 42 and line["request_id"] == "r-1"
    assert line["level"] == "info" and line["timestamp"].endswith("Z")
