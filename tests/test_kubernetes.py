"""deploy/kubernetes is for users (no cluster here): every document is valid
against the Kubernetes schemas (kubernetes-validate bundles them, offline)
and wires douane's contract: settings that exist, the image's user and port,
the CLI's commands, probes on /healthz and /readyz, every policy file."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import typer
import yaml

from services.cli import app as cli_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.29.0"  # the oldest minor still commonly supported by managed clusters

KINDS = {
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("batch/v1", "Job"),
    ("v1", "Secret"),
}


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> dict[str, dict]:
    """Every Kubernetes object, by file name; kustomizations and patches aside."""
    out = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        (doc,) = documents(path)
        out[path.name] = doc
    return out


def containers(doc: dict) -> list[dict]:
    return doc["spec"]["template"]["spec"]["containers"]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def gateway_container() -> dict:
    (gateway,) = [c for c in containers(manifests()["deployment.yaml"]) if c["name"] == "gateway"]
    return gateway


@pytest.mark.parametrize("name", sorted(manifests()))
def test_every_manifest_is_valid_against_the_kubernetes_schema(name):
    doc = manifests()[name]
    assert (doc["apiVersion"], doc["kind"]) in KINDS
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kustomizations_list_files_that_exist():
    for kustomization in (DEPLOY / "kustomization.yaml", DEPLOY / "opa" / "kustomization.yaml"):
        (doc,) = documents(kustomization)
        assert doc["kind"] == "Kustomization"
        for resource in doc.get("resources", []):
            assert (kustomization.parent / resource).exists(), resource
        for patch in doc.get("patches", []):
            (patched,) = documents(kustomization.parent / patch["path"])
            assert patched["kind"] == "Deployment" and patched["metadata"]["name"] == "douane"


def test_every_setting_named_exists_and_the_values_parse():
    settings_env = set()
    docs = list(manifests().values()) + documents(DEPLOY / "opa" / "opa-sidecar.yaml")
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers(doc):
            settings_env |= {n for n in env_of(container) if n.startswith("DOUANE_")}
    fields = {f"DOUANE_{name.upper()}" for name in Settings.model_fields}
    assert settings_env <= fields, settings_env - fields
    literal = {
        name.removeprefix("DOUANE_").lower(): entry["value"]
        for name, entry in env_of(gateway_container()).items()
        if name.startswith("DOUANE_") and "value" in entry
    }
    secret = manifests()["secret.example.yaml"]["stringData"]
    settings = Settings(database_url=secret["database-url"], **literal)
    assert settings.database_url.startswith("postgresql+psycopg://") and settings.share_replica_state
    assert settings.policy_dir == Path("/etc/douane/policies")
    # Every catalog key variable reaches the gateway, from the Secret.
    catalog = yaml.safe_load((ROOT / "config" / "endpoints.yaml").read_text())
    env = env_of(gateway_container())
    for endpoint in catalog["endpoints"]:
        assert env[endpoint["api_key_env"]]["valueFrom"]["secretKeyRef"]["name"] == "douane-secrets"
    assert env["DOUANE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "douane-secrets"


def cli_command(argv: list[str]) -> None:
    """Fail unless ``argv`` is a douane command line the CLI accepts."""
    assert argv[0] == "douane"
    assert 'douane = "services.cli:app"' in (ROOT / "pyproject.toml").read_text()
    command = typer.main.get_command(cli_app)
    words = argv[1:]
    while words and not words[0].startswith("-"):
        command = command.commands[words.pop(0)]  # KeyError: no such command
    options = {opt for param in command.params for opt in param.opts}
    assert {w for w in words if w.startswith("--")} <= options, words


def test_commands_image_user_and_port_match_the_dockerfile_and_the_cli():
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = int(re.search(r"useradd .*--uid (\d+)", dockerfile).group(1))
    port = int(re.search(r"^EXPOSE (\d+)", dockerfile, re.MULTILINE).group(1))
    deployment, job = manifests()["deployment.yaml"], manifests()["migrate-job.yaml"]
    gateway = gateway_container()
    cli_command(gateway["command"])
    assert gateway["command"][:2] == ["douane", "serve"] and gateway["command"][-1] == str(port)
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    cli_command(migrate["command"])
    assert migrate["command"] == ["douane", "db", "upgrade"] and migrate["image"] == gateway["image"]
    assert gateway["ports"][0]["containerPort"] == port
    for pod in (deployment["spec"]["template"]["spec"], job["spec"]["template"]["spec"]):
        assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"]
    # The root filesystem is read-only; a reload's snapshot goes to /tmp.
    assert gateway["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in gateway["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_replicas_probes_and_service_wiring():
    deployment, service = manifests()["deployment.yaml"], manifests()["service.yaml"]
    assert deployment["spec"]["replicas"] >= 2
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert manifests()["pdb.yaml"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    gateway = gateway_container()
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert service["spec"]["ports"][0]["targetPort"] == gateway["ports"][0]["name"]
    assert gateway["resources"]["requests"] and gateway["resources"]["limits"]["memory"]


def test_the_policy_volume_rebuilds_every_file_of_the_bundle():
    deployment = manifests()["deployment.yaml"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    items = volumes["policies"]["configMap"]["items"]
    files = {
        p.relative_to(ROOT / "policies").as_posix()
        for p in (ROOT / "policies").rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(ROOT / "policies").parts)
    }
    assert {item["path"] for item in items} == files
    # The keys configmaps.sh gives them: the path with "/" as "__".
    assert all(item["key"] == item["path"].replace("/", "__") for item in items)
    gateway = gateway_container()
    env = env_of(gateway)
    mounts = {m["name"]: m for m in gateway["volumeMounts"]}
    assert env["DOUANE_POLICY_DIR"]["value"] == mounts["policies"]["mountPath"]
    assert "subPath" not in mounts["policies"]  # subPath mounts never see ConfigMap updates
    catalog = volumes["catalog"]["configMap"]["items"][0]["path"]
    assert env["DOUANE_ENDPOINTS_FILE"]["value"] == f"{mounts['catalog']['mountPath']}/{catalog}"
