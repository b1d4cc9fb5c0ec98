"""The PolicyEngine port and the factory the gateway and CLI call."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from policy.decision import PolicyDecision
from policy.errors import PolicyError


@runtime_checkable
class PolicyEngine(Protocol):
    name: str
    revision: str  # "sha256:<hex>" over every .rego and data file of the bundle
    modules: list[str]  # relative paths of the loaded non-test modules
    data_files: list[dict]  # {"path", "updated"} of each data file of the loaded revision

    def evaluate(self, policy_input: dict) -> PolicyDecision: ...


def load_engine(kind: str, policy_dir: Path, opa_url: str | None = None) -> PolicyEngine:
    if kind == "embedded":
        # Imported here so that importing `policy` never loads the native
        # library until an engine is actually asked for.
        from policy.embedded import EmbeddedEngine

        return EmbeddedEngine.from_dir(Path(policy_dir))
    if kind == "opa":
        if not opa_url:
            raise PolicyError("the OPA-server engine needs an OPA URL (DOUANE_OPA_URL)")
        from policy.opa_server import OpaServerEngine

        return OpaServerEngine(Path(policy_dir), opa_url)
    raise PolicyError(f"unknown policy engine {kind!r}; expected 'embedded' or 'opa'")
