"""The OPA-server engine: the same bundle, evaluated by a real OPA server over
its REST Data API (``POST /v1/data/douane/decision``), through
opa-python-client.

OPA runs the directory it was started with (docker-compose mounts
``policies/`` into it); the revision reported here is the hash of the local
copy of that directory, which is the one the gateway was deployed with.
Anything but a well-formed answer from OPA is a PolicyError: the caller fails
closed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests
from opa_client.opa import OpaClient

from policy.bundle import load_bundle
from policy.decision import PolicyDecision
from policy.errors import PolicyError
from policy.validation import candidate_ids, validate_decision

DECISION_PACKAGE = "douane"
DECISION_RULE = "decision"


class _DirectOpaClient(OpaClient):
    def _init_session(self):
        session = super()._init_session()
        # Proxies from the environment (HTTP(S)_PROXY) would be a hop nobody
        # planned for the policy input; the upstream client ignores them too.
        session.trust_env = False
        return session


def _client(opa_url: str, timeout_s: float) -> OpaClient:
    parts = urlsplit(opa_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PolicyError(f"DOUANE_OPA_URL must be an http(s) URL like http://opa:8181, not {opa_url!r}")
    if parts.path not in ("", "/"):
        raise PolicyError(f"DOUANE_OPA_URL must not carry a path (the Data API lives at /v1/data): {opa_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    # Retries are ours to decide (fail closed, fast), not the client's: none.
    return _DirectOpaClient(host=parts.hostname, port=port, ssl=parts.scheme == "https", timeout=timeout_s, retries=0)


class OpaServerEngine:
    name = "opa"

    def __init__(self, policy_dir: Path, opa_url: str, timeout_s: float = 2.0):
        bundle = load_bundle(policy_dir)
        self.revision = bundle.revision
        self.modules = sorted(bundle.modules)
        self.data_files = bundle.data_files
        self.opa_url = opa_url.rstrip("/")
        self._client = _client(self.opa_url, timeout_s)

    def evaluate(self, policy_input: dict) -> PolicyDecision:
        candidate_ids(policy_input)  # refuse an uncheckable input before sending it anywhere
        try:
            answer = self._client.query_rule(policy_input, DECISION_PACKAGE, DECISION_RULE)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise PolicyError(f"the OPA server at {self.opa_url} answered HTTP {status}") from exc
        except (requests.RequestException, ValueError) as exc:
            raise PolicyError(f"the OPA server at {self.opa_url} could not be queried: {type(exc).__name__}") from exc
        if not isinstance(answer, dict):
            raise PolicyError(f"the OPA server at {self.opa_url} answered something that is not a Data API response")
        # OPA leaves "result" out when the document is undefined; validation names that.
        return validate_decision(answer.get("result"), policy_input)
