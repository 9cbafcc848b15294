"""Gateway settings from BOARDCAST_* environment variables (and .env), validated once at start."""

from __future__ import annotations

import json
import socket
from typing import Annotated, Literal

from boardcast_contracts.secrets import WeakSecret, check_jwt_secret
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The same dev-only secret as tasks-api and the notifier, so services started separately in dev agree.


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOARDCAST_", env_file=".env", extra="ignore")

    env: Literal["dev", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)
    instance: str = ""
    """Replica id shown in hello.instance and used in presence entries; default hostname:port."""

    amqp_url: str | None = None
    redis_url: str | None = None
    exchange: str = "boardcast.events"
    jwt_secret: str = ""
    jwt_algorithm: str = "HS256"
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    tasks_api_url: str = "http://127.0.0.1:8000"
    notifier_url: str = "http://127.0.0.1:8002"

    # ---- ingest and room store
    ingest_enabled: bool = True
    ingest_queue: str = "gateway-ws.ingest"
    ingest_prefetch: int = Field(default=64, ge=1)
    redis_prefix: str = "boardcast:gw:v1"
    history_max_len: int = Field(default=5000, ge=10)
    """Stream entries kept per room (approximate, trimmed by Redis in whole nodes)."""
    history_max_age_s: float = Field(default=3600.0, gt=0)
    presence_ttl_s: float = Field(default=15.0, gt=0)
    presence_refresh_s: float = Field(default=5.0, gt=0)
    presence_debounce_s: float = Field(default=0.25, ge=0)
    """Presence changes within this window go out as one presence message."""
    revocation_ttl_s: float = Field(default=300.0, gt=0)
    membership_cache_s: float = Field(default=5.0, ge=0)
    redis_heartbeat_s: float = Field(default=2.0, gt=0)
    redis_max_connections: int = Field(default=64, ge=2)

    # ---- protection and limits
    max_frame_bytes: int = Field(default=64 * 1024, ge=256)
    send_buffer_limit: int = Field(default=1024 * 1024, ge=4096)
    """Bytes queued for one peer before it is closed 1013 as a slow consumer."""
    pending_limit: int = Field(default=10_000, ge=10)
    """Live events buffered for one peer while its resume replay is sent."""
    rate_limit_per_s: float = Field(default=20.0, gt=0)
    rate_limit_burst: float = Field(default=60.0, ge=1)
    ping_interval_s: float = Field(default=20.0, gt=0)
    ping_timeout_s: float = Field(default=20.0, gt=0)
    close_timeout_s: float = Field(default=5.0, gt=0)
    max_connections: int = Field(default=20_000, ge=1)
    max_connections_per_user: int = Field(default=20, ge=1)
    """Open sockets (rooms and notifications) one user may hold over all replicas, counted in Redis."""
    join_timeout_s: float = Field(default=10.0, gt=0)
    drain_window_s: float = Field(default=5.0, ge=0)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept a JSON list or a comma-separated string, the two forms people write in .env files.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        try:
            self.jwt_secret = check_jwt_secret(self.jwt_secret, dev=self.env == "dev")
        except WeakSecret as exc:
            raise ValueError(f"BOARDCAST_JWT_SECRET: {exc}") from None
        if self.env != "dev":
            # The embedded bus and store exist only for make dev; a replica alone would see no events.
            for name in ("amqp_url", "redis_url"):
                if name == "amqp_url" and not self.ingest_enabled:
                    continue  # a fan-out-only replica (benchmarks) needs no broker
                if not getattr(self, name):
                    raise ValueError(f"BOARDCAST_{name.upper()}: must be set outside ENV=dev")
        if not self.instance:
            self.instance = f"{socket.gethostname()}:{self.port}"
        return self
