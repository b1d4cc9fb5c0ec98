"""The endpoint catalog: which OpenAI-compatible endpoints exist, where they
sit legally and physically, and what they cost.

Prices and jurisdictions live here (``config/endpoints.yaml``) and nowhere
else. A bad entry stops start-up with the file, the entry and the field named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

EndpointId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class CatalogError(Exception):
    """The catalog cannot be used; the message names file, entry and field."""


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


# Quality tiers, weakest first: the policy's data (reference/quality) names
# the same three and decides which one a request needs.
TIERS = ("small", "standard", "frontier")
Tier = Literal["small", "standard", "frontier"]


class Capabilities(BaseModel):
    """What the endpoint's model can take. The defaults are what an
    OpenAI-compatible chat endpoint of 2026 usually offers; say otherwise in
    the catalog where it does not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_window: int = Field(default=128_000, gt=0, description="input + output tokens the model accepts")
    tools: bool = True
    vision: bool = False
    json_mode: bool = True

    def names(self) -> list[str]:
        """The boolean capabilities it has, for the policy: ["json_mode", "tools"]."""
        return [name for name in ("json_mode", "tools", "vision") if getattr(self, name)]


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: EndpointId
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    base_url: str = Field(pattern=r"^https?://")
    api_key_env: str | None = None
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2 of the legal seat")
    region: str = Field(pattern=r"^[a-z]{2,12}$", description="where inference runs: eu, us, cn, …")
    self_hosted: bool = False
    price: Price
    latency_p95_ms: int = Field(gt=0, description="prior; live measurements replace it")
    tier: Tier = Field(default="standard", description="quality tier: small, standard or frontier")
    capabilities: Capabilities = Capabilities()

    @field_validator("base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.price.input_per_mtok + output_tokens * self.price.output_per_mtok) / 1_000_000


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoints: tuple[Endpoint, ...]

    def get(self, endpoint_id: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.id == endpoint_id), None)

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.endpoints]


def _entry_label(raw_entries: list, index: int) -> str:
    entry = raw_entries[index] if index < len(raw_entries) else None
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"entry {index} ({entry['id']})"
    return f"entry {index}"


def load_catalog(path: Path) -> Catalog:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("endpoints"), list) or not raw["endpoints"]:
        raise CatalogError(f"{path}: expected a non-empty list under 'endpoints:'")
    entries = raw["endpoints"]
    endpoints = []
    problems = []
    for index, entry in enumerate(entries):
        try:
            endpoints.append(Endpoint.model_validate(entry))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "entry"
                problems.append(f"{path}: {_entry_label(entries, index)}: field '{field}': {err['msg']}")
    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.id in seen:
            problems.append(f"{path}: endpoint id '{endpoint.id}' appears more than once")
        seen.add(endpoint.id)
    if problems:
        raise CatalogError("\n".join(problems))
    return Catalog(endpoints=tuple(endpoints))
