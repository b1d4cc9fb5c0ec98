"""Process settings, read once from the environment (prefix ``DOUANE_``).

A bad value stops start-up with a message naming the variable: a gateway that
guesses at its own configuration is one that forwards data where nobody meant.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ORIGIN_PATTERN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def normalise_database_url(url: str) -> str:
    """Point plain Postgres DSNs at psycopg 3, the only driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOUANE_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/douane.db",
        description="SQLAlchemy URL of the audit database; Postgres as postgresql+psycopg://…",
    )
    policy_engine: Literal["embedded", "opa"] = "embedded"
    opa_url: str | None = None
    policy_dir: Path = Path("policies")
    endpoints_file: Path = Path("config/endpoints.yaml")
    # How demanding a request looks (weights and cue words of the complexity
    # estimate the policy turns into a quality tier). Unset: the rules shipped
    # with douane (services/routing/complexity.yaml).
    complexity_file: Path | None = None
    # Reload the policy when a file under policy_dir changes (same checks as
    # POST /v1/policy/reload: compile, policy check, the policy's own tests).
    policy_watch: bool = True
    # Requests larger than this are refused with 413 before any parsing.
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    # Chat requests beyond these are refused with 422 before detection runs:
    # detection time grows with the text (about 1.7 s of CPU for 200,000
    # characters). Characters count every text detection reads: contents,
    # participant names and tool-call arguments.
    max_messages: int = Field(default=1000, gt=0)
    max_message_chars: int = Field(default=200_000, gt=0)
    max_total_chars: int = Field(default=500_000, gt=0)
    # Output tokens assumed for the cost estimate when the request sets no max_tokens.
    default_output_tokens: int = Field(default=256, gt=0)
    # Upstream timeouts, in seconds: to open a connection, between two bytes
    # of an answer (a stream's gaps too), and for a whole exchange.
    upstream_connect_timeout_s: float = Field(default=5.0, gt=0)
    upstream_read_timeout_s: float = Field(default=60.0, gt=0)
    upstream_total_timeout_s: float = Field(default=600.0, gt=0)
    upstream_max_connections: int = Field(default=200, gt=0)
    # Retention checkpoints: the base64 of a 32-byte Ed25519 seed signs them
    # (retention refuses to run without it); the public key (base64, raw 32
    # bytes) is what verification checks them with. Either one is enough for
    # verify: the public key is derived from the seed.
    audit_signing_key: str | None = Field(default=None, repr=False)
    audit_public_key: str | None = None

    # Several replicas on one database (README: "Running several replicas").
    # Requests per minute per API key, unless the key has its own limit
    # (`douane keys create --rate-limit N`); 0 turns the default off.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    # How often a replica syncs what replicas share through the database:
    # rate-limit leases, the live policy revision, opened circuit breakers.
    sync_interval_s: float = Field(default=0.25, gt=0, le=10)
    # Follow the policy revision and circuit breakers of the other replicas
    # on the database (PostgreSQL only); rate limits are shared regardless.
    share_replica_state: bool = True

    # How long a verified API key is trusted without asking the database:
    # a revoked key stops working within this many seconds on every replica.
    # 0 asks the database on every request.
    key_cache_ttl_s: float = Field(default=5.0, ge=0, le=300)

    # Browser origins allowed to call the API (CORS), e.g.
    # "https://console.example.org,https://dpo.example.org" (or a JSON list).
    # Empty: no CORS headers at all, so browsers refuse cross-origin calls.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_cors_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            # An origin is exactly what a browser sends: scheme://host[:port],
            # no path, no trailing slash; "*" would open the API to every page.
            if not ORIGIN_PATTERN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://console.example.org")
        return origins

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        value = normalise_database_url(value.strip())
        if not value.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _opa_needs_url(self) -> "Settings":
        if self.policy_engine == "opa" and not self.opa_url:
            raise ValueError("DOUANE_POLICY_ENGINE=opa needs DOUANE_OPA_URL")
        return self


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        name = f"DOUANE_{field.upper()}" if err["loc"] else "settings"
        lines.append(f"{name}: {err['msg']}")
    return "invalid settings: " + "; ".join(lines)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
