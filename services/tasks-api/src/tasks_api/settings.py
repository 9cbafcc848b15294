"""tasks-api settings: BOARDCAST_* environment variables (and .env), validated once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from boardcast_contracts import EXCHANGE
from boardcast_contracts.secrets import DEV_JWT_SECRET, WeakSecret, check_jwt_secret
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class SettingsError(ValueError):
    """A bad or missing setting; its message is one line naming the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOARDCAST_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=16)
    database_url: str = "sqlite+aiosqlite:///./boardcast.db"
    amqp_url: str | None = None
    redis_url: str | None = None
    exchange: str = EXCHANGE
    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    token_ttl_seconds: int = Field(default=3600, ge=30)
    public_ws_url: str | None = None
    notifier_url: str | None = None  # pass /api/notifications* through to it (make stack has no front door)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    web_dir: Path | None = None

    relay_enabled: bool = True
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    # How long published outbox rows are kept (to inspect or replay recent events) before the relay prunes.
    outbox_retention_seconds: float = Field(default=7 * 86400, gt=0)
    migrate_on_start: bool | None = None  # None: yes in dev, no in production (python -m migrates first)

    cache_ttl_seconds: int = Field(default=300, ge=1)
    capacity_hours: float = Field(default=40.0, gt=0)
    shutdown_flush_seconds: float = Field(default=5.0, ge=0)
    db_pool_size: int = Field(default=10, ge=1)

    # Password hashing cost (argon2id); tests lower it, production keeps the library defaults.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=64)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # BOARDCAST_ALLOWED_ORIGINS is comma-separated (as in SPEC §2); a JSON list is accepted too.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
        return value

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    @property
    def should_migrate_on_start(self) -> bool:
        return self.is_dev if self.migrate_on_start is None else self.migrate_on_start

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.is_dev:
            try:
                check_jwt_secret(self.jwt_secret, dev=False)
            except WeakSecret as exc:
                raise SettingsError(f"BOARDCAST_JWT_SECRET {exc}") from None
            if not self.amqp_url:
                raise SettingsError(
                    "BOARDCAST_AMQP_URL is unset (the embedded bus is only for BOARDCAST_ENV=dev)"
                )
            if not self.redis_url:
                raise SettingsError(
                    "BOARDCAST_REDIS_URL is unset (the embedded store is only for BOARDCAST_ENV=dev)"
                )
        return self


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or exit with the one-line reason (for the entry points)."""
    import sys

    from pydantic import ValidationError
    from pydantic_settings.exceptions import SettingsError as PydanticSettingsError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SettingsError as exc:
        sys.exit(f"tasks-api: bad setting: {exc}")
    except PydanticSettingsError as exc:
        sys.exit(f"tasks-api: bad setting: {exc}")
    except ValidationError as exc:
        first = exc.errors()[0]
        ctx = first.get("ctx", {})
        if isinstance(ctx.get("error"), SettingsError):
            sys.exit(f"tasks-api: bad setting: {ctx['error']}")
        name = "BOARDCAST_" + "_".join(str(p) for p in first.get("loc", ())).upper()
        sys.exit(f"tasks-api: bad setting {name}: {first.get('msg')}")
