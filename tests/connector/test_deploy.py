"""The deployment files (issue 31): every Kubernetes manifest validates against the Kubernetes
schemas (kubernetes-validate, strict: no unknown fields); the compose file runs the four
partners, PostgreSQL and Dask, each connector at its member URL; the Containerfile copies what
exists and installs what the web pages need.

Building the image needs a base made by debootstrap and a podman that can run here: the
opt-in test at the end does it when PODMAN_BUILD_TEST=1 (minutes, so not in `make test`)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from connector.settings import source_root

ROOT = source_root()
K8S = ROOT / "deploy" / "k8s"
KUBERNETES = "1.36.0"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_kubernetes_manifest_validates() -> None:
    kinds = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in _documents(path):
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
            kinds.append(doc["kind"])
    assert sorted(set(kinds)) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Secret",
        "Service",
        "StatefulSet",
    ]


def test_a_broken_manifest_is_refused() -> None:
    """The check can fail: an unknown field, and a probe without its port."""
    [claim, deployment, _service] = _documents(K8S / "connector.yaml")
    deployment["spec"]["replica"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)
    del deployment["spec"]["replica"]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    del probe["httpGet"]["port"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)
    assert claim["kind"] == "PersistentVolumeClaim"


def test_the_connector_is_ready_on_ready_with_its_keys_secret_and_one_writer() -> None:
    [_claim, deployment, service] = _documents(K8S / "connector.yaml")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert deployment["spec"]["replicas"] == 1
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["keys"]["readOnly"]
    assert {v["name"]: v for v in pod["volumes"]}["keys"]["secret"]["secretName"] == "gemello-keys"
    assert service["spec"]["ports"][0]["port"] == 8401
    settings = tomllib.loads(_documents(K8S / "configmap.yaml")[0]["data"]["comune.toml"])
    assert settings["host"] == "0.0.0.0"
    assert settings["data_dir"] == mounts["data"]["mountPath"]
    policies = {d["metadata"]["name"]: d for d in _documents(K8S / "networkpolicy.yaml")}
    ingress = policies["gemello-connector"]["spec"]["ingress"][0]
    assert [p["port"] for p in ingress["ports"]] == [8401]
    assert len([f for f in ingress["from"] if "ipBlock" in f]) == 3  # the three other members


def test_the_compose_file_runs_each_member_at_its_trust_list_url() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    members = tomllib.loads((ROOT / "deploy" / "compose" / "dataspace.toml").read_text())
    for member in members["members"]:
        service = services[member["id"]]
        port = member["connector_url"].rsplit(":", 1)[1]
        assert member["connector_url"] == f"http://{member['id']}:{port}"
        assert service["command"][:4] == ["connector", "serve", "--partner", member["id"]]
        assert service["ports"] == [f"{port}:{port}"]
        assert f"/{member['id']}" in service["environment"]["GEMELLO_DATABASE_URL"]
        assert port in service["healthcheck"]["test"][-1]
        assert set(service["depends_on"]) == {"init", "postgres"}
    assert services["cineca"]["environment"]["GEMELLO_COMPUTE_DASK_ADDRESS"].startswith(
        "tcp://dask-scheduler:")  # fmt: skip
    for name, service in services.items():
        for dep in service.get("depends_on", []):
            assert dep in services, (name, dep)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in compose["volumes"] or (ROOT / "deploy" / source).is_file(), volume
    created = (ROOT / "deploy" / "compose" / "initdb.sql").read_text()
    assert all(f"CREATE DATABASE {m['id']};" in created for m in members["members"])


def test_the_containerfile_copies_what_exists_and_ships_the_pages_assets() -> None:
    text = (ROOT / "Containerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = data["tool"]["setuptools"]["package-data"]["*"]
    suffixes = {p.suffix for p in (ROOT / "connector" / "web").rglob("*") if p.is_file()}
    assert {f"*{s}" for s in suffixes - {".py", ".pyc"}} <= set(shipped)


# Where the sandbox needs them (this machine: crun cannot handle its hybrid cgroups and its
# rlimits are capped; pip goes through a TLS-inspecting proxy), e.g.
#   PODMAN_GLOBAL="--runtime runc"
#   PODMAN_RUN="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host"
#   PODMAN_BUILD="$PODMAN_RUN -v /etc/ssl/certs:/etc/ssl/site:ro
#                 --build-arg PIP_CERT=/etc/ssl/site/ca-certificates.crt"
def _podman(*args: str, extra: str = "") -> list[str]:
    return ["podman", *shlex.split(os.environ.get("PODMAN_GLOBAL", "")), *args,
            *shlex.split(os.environ.get(extra, ""))]  # fmt: skip


@pytest.mark.skipif(
    os.environ.get("PODMAN_BUILD_TEST") != "1" or shutil.which("podman") is None,
    reason="builds the image (minutes): set PODMAN_BUILD_TEST=1 where podman and debootstrap "
    "run (root); see the note of issue 31",
)
def test_the_image_builds_and_a_connector_in_it_gets_ready() -> None:
    image = "localhost/gemello-connector:test"
    if subprocess.run(["podman", "image", "exists", "localhost/debian-bookworm:base"]).returncode:
        subprocess.run([str(ROOT / "deploy" / "container" / "make-base.sh")], check=True)
    subprocess.run([*_podman("build", extra="PODMAN_BUILD"), "-t", image, "-f", "Containerfile",
                    "."], cwd=ROOT, check=True)  # fmt: skip
    volume = f"gemello-test-{os.getpid()}"
    run = [*_podman("run", extra="PODMAN_RUN"), "--rm", "-v", f"{volume}:/srv/gemello"]
    subprocess.run([*run, "--entrypoint", "sh", image, "-c",
                    "cp -r /opt/gemello/deploy /srv/gemello/ && gemello init --partner comune"],
                   check=True)  # fmt: skip
    name = f"gemello-ready-{os.getpid()}"
    port = "18499"
    subprocess.run([*run, "-d", "--name", name, "-p", f"{port}:{port}", image, "connector",
                    "serve", "--partner", "comune", "--host", "0.0.0.0", "--port", port],
                   check=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
                if ready.status_code == 200:
                    assert ready.json()["participant_id"] == "urn:gemello:bologna:comune"
                    page = httpx.get(f"http://127.0.0.1:{port}/console/static/verify.js")
                    assert page.status_code == 200  # the pages' assets are in the image
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise AssertionError("the connector in the image never got ready")
    finally:
        subprocess.run(["podman", "rm", "-f", name], check=False)
        subprocess.run(["podman", "volume", "rm", "-f", volume], check=False)
