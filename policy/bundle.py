"""Loads a policy directory with OPA bundle semantics and fingerprints it.

A data.json (or data.yaml) is mounted at the path of its directory, so
policies/reference/risk/data.json becomes data.reference.risk; that is what
`opa run -s policies/` and `opa test policies/` do with the same directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from policy.errors import PolicyError

DATA_FILE_NAMES = ("data.json", "data.yaml", "data.yml")
TEST_SUFFIX = "_test.rego"


@dataclass(frozen=True)
class PolicyBundle:
    root: Path
    modules: dict[str, str]  # relative path -> source, serving modules only
    test_modules: dict[str, str]  # relative path -> source, *_test.rego
    data: dict
    revision: str  # "sha256:<hex>"
    # Every data file with the date its owner last updated it ("updated"), as loaded.
    data_files: list[dict] = field(default_factory=list)

    def all_modules(self) -> dict[str, str]:
        return {**self.modules, **self.test_modules}


def load_bundle(policy_dir: Path) -> PolicyBundle:
    root = Path(policy_dir)
    if not root.is_dir():
        raise PolicyError(f"policy directory {root} does not exist or is not a directory")
    files = sorted(_bundle_files(root), key=lambda p: p.relative_to(root).as_posix())
    modules: dict[str, str] = {}
    test_modules: dict[str, str] = {}
    data: dict = {}
    data_files: list[dict] = []
    digest = hashlib.sha256()
    for path in files:
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        # Length-prefixed path and content, so no two different bundles can
        # concatenate to the same byte stream.
        for part in (rel.encode(), raw):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        if path.suffix == ".rego":
            target = test_modules if path.name.endswith(TEST_SUFFIX) else modules
            target[rel] = _decode(raw, rel)
        else:
            value = _parse_data(raw, rel)
            _mount(data, path.parent.relative_to(root).parts, value, rel)
            data_files.append({"path": rel, "updated": value.get("updated") if isinstance(value, dict) else None})
    if not modules:
        raise PolicyError(f"policy directory {root} contains no .rego policy modules")
    return PolicyBundle(root, modules, test_modules, data, "sha256:" + digest.hexdigest(), data_files)


def _bundle_files(root: Path):
    # Symlinked directories are followed: a Kubernetes ConfigMap volume is
    # `douane -> ..data/douane`, `..data -> ..2026_11_28_...` (Path.rglob
    # does not descend into them before Python 3.13). Hidden entries (.git,
    # editor state, the ConfigMap's own ..data) are not part of a bundle.
    seen: set[str] = set()
    for directory, subdirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a symlink loop
            subdirs.clear()
            continue
        seen.add(real)
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        for name in files:
            path = Path(directory) / name
            if name.startswith(".") or not path.is_file():
                continue
            if path.suffix == ".rego" or name in DATA_FILE_NAMES:
                yield path


def _decode(raw: bytes, rel: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{rel} is not valid UTF-8: {exc}") from exc


def _parse_data(raw: bytes, rel: str):
    text = _decode(raw, rel)
    try:
        if rel.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{rel} could not be parsed: {exc}") from exc


def _mount(data: dict, parts: tuple[str, ...], value, rel: str) -> None:
    if not parts and not isinstance(value, dict):
        raise PolicyError(f"{rel} is at the bundle root, so it must hold an object")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise PolicyError(f"{rel} is mounted under a path another data file already holds")
    if not parts:
        _merge(data, value, rel)
    elif parts[-1] in node:
        if not (isinstance(node[parts[-1]], dict) and isinstance(value, dict)):
            raise PolicyError(f"{rel} is mounted at data.{'.'.join(parts)}, which another data file already holds")
        _merge(node[parts[-1]], value, rel)
    else:
        node[parts[-1]] = value


def _merge(target: dict, value: dict, rel: str) -> None:
    # OPA refuses two data files that define the same key; so do we, rather
    # than letting one silently override the other.
    for key, item in value.items():
        if key in target:
            if isinstance(target[key], dict) and isinstance(item, dict):
                _merge(target[key], item, rel)
                continue
            raise PolicyError(f"{rel} redefines data key {key!r} that another data file already set")
        target[key] = item
