"""The container image (Containerfile, `make image`).

Runs the image built by `make image` (build/tenantgate.oci.tar, or
TG_IMAGE_ARCHIVE) with podman: every binary's --version, the broker's
--check-config on the example config, a read-only root filesystem, all
capabilities dropped, a non-root uid, no compiler inside, and the size.
Building takes minutes, so `make check` does not: without the archive
these tests skip and say so; `make image` builds it and runs them.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHIVE = pathlib.Path(os.environ.get("TG_IMAGE_ARCHIVE", ROOT / "build" / "tenantgate.oci.tar"))
TAG = "localhost/tenantgate-imagetest:latest"
EXAMPLE = """listen = 0.0.0.0:8181
vault_addr = https://vault.vault.svc:8200
vault_auth = kubernetes
database_url = host=postgres.tenantgate.svc dbname=tenantgate user=tenantgate_broker
oidc_issuer = https://login.example/v2.0
oidc_audience = api://company-gpt
callers_tokenreview_url = https://kubernetes.default.svc
callers_allowed = open-webui/open-webui
"""

pytestmark = pytest.mark.skipif(
    not ARCHIVE.exists() or not shutil.which("podman"),
    reason=f"no image archive at {ARCHIVE} (or no podman): `make image` builds it and runs these")


def podman(*args, check=True, timeout=120):
    env = dict(os.environ)
    conf = ROOT / "build" / "containers.conf"
    if conf.exists():
        env.setdefault("CONTAINERS_CONF", str(conf))
    r = subprocess.run(["podman", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check:
        assert r.returncode == 0, f"podman {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def image():
    out = podman("load", "-q", "-i", str(ARCHIVE), timeout=300).stdout
    loaded = out.strip().split()[-1]
    podman("tag", loaded, TAG)
    yield TAG
    podman("rmi", TAG, check=False)


def run(image, *cmd, volumes=()):
    args = ["run", "--rm", "--read-only", "--cap-drop=all",
            "--security-opt=no-new-privileges", "--network=none"]
    for v in volumes:
        args += ["-v", v]
    return podman(*args, image, *cmd, check=False)


@pytest.mark.parametrize("prog", ["tenantgate-broker", "tenantgate-forwarder",
                                  "tenantgate-admin"])
def test_each_binary_runs_read_only_without_capabilities(image, prog):
    r = run(image, prog, "--version")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0." in r.stdout + r.stderr


def test_broker_checks_the_example_config(image, tmp):
    (tmp / "broker.conf").write_text(EXAMPLE)
    os.chmod(tmp, 0o755)
    os.chmod(tmp / "broker.conf", 0o644)
    r = run(image, "tenantgate-broker", "-c", "/etc/tenantgate/broker.conf",
            "--check-config", volumes=[f"{tmp / 'broker.conf'}:/etc/tenantgate/broker.conf:ro"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configuration OK" in r.stdout + r.stderr


def test_runs_as_non_root_on_a_read_only_root(image):
    r = run(image, "sh", "-c", "id -u; id -g; touch /probe 2>&1 || echo read-only")
    lines = r.stdout.split()
    assert lines[0] == "10001" and lines[0] != "0", r.stdout
    assert "read-only" in r.stdout, r.stdout
    cfg = podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
    assert cfg.split(":")[0] == "10001"


def test_holds_migrations_and_policies_and_no_compiler(image):
    r = run(image, "sh", "-c", "ls /usr/share/tenantgate/migrations /usr/share/tenantgate/policies;"
             " for c in cc gcc clang make ld as; do command -v $c; done; true")
    assert "0001_init.sql" in r.stdout and "tenantgate-broker.hcl" in r.stdout, r.stdout
    found = [l for l in r.stdout.splitlines() if l.startswith("/") and not l.endswith(":")]
    assert not found, f"build tools in the image: {found}"


def test_reports_image_size(image):
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
    print(f"image size: {size / 1e6:.0f} MB (archive {ARCHIVE.stat().st_size / 1e6:.0f} MB)")
    assert size < 400e6
