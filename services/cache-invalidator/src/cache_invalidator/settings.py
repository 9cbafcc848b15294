"""cache-invalidator settings from BOARDCAST_* environment variables (and .env), checked once at start."""

from __future__ import annotations

from typing import Literal

from boardcast_contracts import EXCHANGE
from boardcast_service_kit import url_outside_dev
from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOARDCAST_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=8003, ge=1, le=65535)
    amqp_url: str | None = None
    redis_url: str | None = None
    exchange: str = EXCHANGE
    cache_invalidator_queue: str = "cache-invalidator"
    cache_invalidator_prefetch: int = Field(default=64, ge=1, le=1000)
    # Short first delays: a stale cache entry is visible to readers, so a blip in Redis should cost little.
    # Together they ride out about four minutes of Redis being down before a message is parked.
    cache_invalidator_retry_delays: list[float] = Field(
        default=[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0], min_length=1
    )
    log_level: str = "info"

    @field_validator("amqp_url", "redis_url")
    @classmethod
    def _url_outside_dev(cls, value: str | None, info: ValidationInfo) -> str | None:
        return url_outside_dev(value, info.data.get("env"))
