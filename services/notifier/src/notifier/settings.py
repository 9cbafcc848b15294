"""Notifier settings from BOARDCAST_* environment variables (and .env), checked once at start."""

from __future__ import annotations

from typing import Literal

from boardcast_contracts import EXCHANGE
from boardcast_contracts.secrets import check_jwt_secret
from boardcast_service_kit import url_outside_dev
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DATABASE_URL = "sqlite+aiosqlite:///./boardcast.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOARDCAST_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=8002, ge=1, le=65535)
    database_url: str | None = None
    notifier_database_url: str | None = None
    amqp_url: str | None = None
    redis_url: str | None = None
    jwt_secret: str = ""
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    exchange: str = EXCHANGE
    notifier_queue: str = "notifier"
    notifier_prefetch: int = Field(default=32, ge=1, le=1000)
    # Seconds before each delayed retry of a failing message; after the last it is parked.
    notifier_retry_delays: list[float] = Field(default=[1.0, 5.0, 30.0], min_length=1)
    # The lifespan brings the schema to head (serialised by an advisory lock on PostgreSQL).
    notifier_migrate_on_start: bool = True
    log_level: str = "info"

    @field_validator("amqp_url", "redis_url")
    @classmethod
    def _url_outside_dev(cls, value: str | None, info: ValidationInfo) -> str | None:
        return url_outside_dev(value, info.data.get("env"))

    @field_validator("jwt_secret")
    @classmethod
    def _real_secret(cls, value: str, info: ValidationInfo) -> str:
        return check_jwt_secret(value, dev=info.data.get("env") == "dev")

    @model_validator(mode="after")
    def _database_outside_dev(self) -> Settings:
        if not (self.notifier_database_url or self.database_url) and self.env != "dev":
            raise ValueError(
                "BOARDCAST_NOTIFIER_DATABASE_URL (or BOARDCAST_DATABASE_URL) must be set outside dev mode"
            )
        return self

    @property
    def db_url(self) -> str:
        """The notifier's own database URL, else the shared one; dev falls back to the SQLite file."""
        return self.notifier_database_url or self.database_url or DEV_DATABASE_URL
