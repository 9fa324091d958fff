"""The Helm chart deploy/helm/tenantgate and the manifests in deploy/.

helm (built into .cache/ by `scripts/deps --check`) lints and renders the
chart; kubernetes-validate (offline, bundled schemas) checks every rendered
object and deploy/*.yaml strictly. The chart's config keys are generated
from the binaries' config tables (scripts/chart-config): a key added to a
table and not to the chart fails here.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "tenantgate"
CI_VALUES = CHART / "ci" / "example-values.yaml"
SIDECAR = ROOT / "deploy" / "helm" / "openwebui-sidecar-values.yaml"
PROGRAMS = {"broker": "tenantgate-broker", "forwarder": "tenantgate-forwarder"}
# Metrics an alert may name before the binaries export them (none now).
# Remove a name here once it exists; the test then guards it.
PENDING_METRICS = set()


def helm_binary():
    for cand in (os.environ.get("TG_HELM"), ROOT / ".cache" / "helm" / "bin" / "helm",
                 shutil.which("helm")):
        if cand and os.access(str(cand), os.X_OK):
            return str(cand)
    pytest.fail("helm not found: run ./scripts/deps --check (make check does)")


def validator():
    cand = pathlib.Path(sys.executable).parent / "kubernetes-validate"
    if not cand.exists():
        pytest.fail("kubernetes-validate not in the venv: run ./scripts/deps")
    return str(cand)


def bin_dir():
    d = os.environ.get("TG_BIN_DIR")
    return pathlib.Path(d) if d else ROOT / "build" / "rel" / "bin"


def helm(*args, check=True):
    r = subprocess.run([helm_binary(), *args], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, HELM_CACHE_HOME="/nonexistent-tg",
                                             HELM_CONFIG_HOME="/nonexistent-tg"))
    if check:
        assert r.returncode == 0, f"helm {' '.join(args)}:\n{r.stdout}\n{r.stderr}"
    return r


def render(*args, check=True):
    r = helm("template", "tg", str(CHART), "--namespace", "tenantgate", *args,
             check=check)
    return r if not check else [d for d in yaml.safe_load_all(r.stdout) if d]


def conf_of(docs, name):
    cm = next(d for d in docs if d["kind"] == "ConfigMap" and f"{name}.conf" in d["data"])
    out = {}
    for line in cm["data"][f"{name}.conf"].splitlines():
        if line.strip():
            k, _, v = line.partition(" = ")
            out[k.strip()] = v
    return out


def config_table(prog):
    exe = bin_dir() / prog
    if not exe.exists():
        pytest.fail(f"{exe} not built (make)")
    out = subprocess.run([str(exe), "--config-docs"], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]*) \| [^|]* \| ([^|]*) \|", out, re.M)
    assert rows, out[:500]
    return [(k, t.strip(), rng.strip()) for k, t, rng in rows]


def sample(key, typ, rng):
    """A value of the key's type, recognisable in the rendered file."""
    if typ == "enum":
        return rng.split(",")[0].strip()
    return {"integer": "7", "duration": "7s", "size": "7KiB", "bool": "yes",
            "list": f"a-{key},b-{key}", "path": f"/etc/tenantgate/x/{key}"
            }.get(typ, f"v-{key}")


def kvalidate(text, tmp):
    f = tmp / "objects.yaml"
    f.write_text(text)
    r = subprocess.run([validator(), "--strict", str(f)], capture_output=True,
                       text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # CRD kinds have no bundled schema (a warning); nothing else may warn
    warnings = [l for l in out.splitlines() if l.startswith("WARN")
                and "monitoring.coreos.com" not in l]
    assert not warnings, out
    return out


# ---- the config keys stay in step with the tables ---------------------------

def test_chart_config_keys_are_generated_from_the_tables():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "chart-config"),
                        "--check", "--bin-dir", str(bin_dir())],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_every_config_key_of_the_table_can_be_set(name, tmp):
    rows = config_table(PROGRAMS[name])
    values = {"broker": {"config": {"vault_addr": "https://v:8200",
                                    "database_url": "host=db dbname=tg"}}}
    values.setdefault(name, {}).setdefault("config", {})
    for key, typ, rng in rows:
        values[name]["config"][key] = sample(key, typ, rng)
    f = tmp / "values.yaml"
    f.write_text(yaml.safe_dump(values))
    conf = conf_of(render("-f", str(f)), name)
    missing = [k for k, t, r in rows if conf.get(k) != sample(k, t, r)]
    assert not missing, f"{name} keys the chart cannot set: {missing}"


def test_a_key_the_program_does_not_know_fails_the_render():
    r = render("-f", str(CI_VALUES), "--set", "broker.config.vault_adr=x", check=False)
    assert r.returncode != 0
    assert "broker.config.vault_adr: not a tenantgate-broker config key" in r.stderr


def test_required_keys_and_secrets_by_reference():
    r = render(check=False)
    assert r.returncode != 0 and "broker.config.database_url is required" in r.stderr
    for url in ("host=db password=hunter2", "postgresql://tg:hunter2@db/tg"):
        r = render("-f", str(CI_VALUES), "--set-string",
                   f"broker.config.database_url={url}", check=False)
        assert r.returncode != 0 and "must not carry a password" in r.stderr
        assert "hunter2" not in r.stderr
    docs = render("-f", str(CI_VALUES))
    assert not [d for d in docs if d["kind"] == "Secret"], "the chart must not make Secrets"


def test_rendered_configs_pass_the_programs_own_check(tmp):
    docs = render("-f", str(CI_VALUES))
    for name, prog in PROGRAMS.items():
        conf = conf_of(docs, name)
        f = tmp / f"{name}.conf"
        f.write_text("".join(f"{k} = {v}\n" for k, v in conf.items()))
        r = subprocess.run([str(bin_dir() / prog), "-c", str(f), "--check-config"],
                           capture_output=True, text=True, timeout=30)
        # files named in the config (TLS, secrets) exist only in the pod
        problems = [l for l in (r.stdout + r.stderr).splitlines()
                    if l.strip() and "No such file" not in l and "cannot open" not in l
                    and "cannot read" not in l
                    and "configuration ok" not in l.lower()]
        assert not problems, f"{name}.conf from the chart:\n{r.stdout}{r.stderr}"


# ---- lint, render, validate -------------------------------------------------

def test_helm_lint_strict():
    r = helm("lint", "--strict", str(CHART), "-f", str(CI_VALUES))
    assert "0 chart(s) failed" in r.stdout


@pytest.mark.parametrize("extra", [
    [],
    ["--set", "broker.tls.existingSecret=", "--set", "broker.antiAffinity=preferred",
     "--set", "broker.networkPolicy.enabled=false", "--set", "metrics.prometheusRule.enabled=false",
     "--set", "broker.podDisruptionBudget.enabled=false"],
], ids=["everything-on", "minimal"])
def test_rendered_chart_validates_strictly(extra, tmp):
    r = render("-f", str(CI_VALUES), *extra, check=False)
    assert r.returncode == 0, r.stderr
    kvalidate(r.stdout, tmp)


@pytest.mark.parametrize("path", sorted(p.name for p in (ROOT / "deploy").glob("*.yaml")))
def test_deploy_manifests_validate_strictly(path, tmp):
    kvalidate((ROOT / "deploy" / path).read_text(), tmp)


def test_sidecar_values_make_a_valid_pod(tmp):
    v = yaml.safe_load(SIDECAR.read_text())
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "open-webui"},
           "spec": {"containers": [{"name": "open-webui", "image": "open-webui"}]
                    + v["extraContainers"], "volumes": v["volumes"]}}
    kvalidate(yaml.safe_dump(pod), tmp)
    projected = [s["serviceAccountToken"] for vol in v["volumes"]
                 for s in (vol.get("projected") or {}).get("sources", [])
                 if "serviceAccountToken" in s]
    chart = yaml.safe_load((CHART / "values.yaml").read_text())
    assert [p["audience"] for p in projected] == [chart["forwarder"]["tokenAudience"]]
    fwd = conf_of(render("-f", str(CI_VALUES)), "forwarder")
    mounts = {m["mountPath"] for m in v["extraContainers"][0]["volumeMounts"]}
    assert os.path.dirname(fwd["broker_sa_token_file"]) in mounts
    assert fwd["listen"].startswith("127.0.0.1:")


# ---- what the objects promise --------------------------------------------------

def test_broker_deployment_is_restricted_and_spread():
    docs = render("-f", str(CI_VALUES))
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget",
            "NetworkPolicy", "ConfigMap", "ClusterRoleBinding", "ServiceMonitor",
            "PrometheusRule"} <= kinds
    dep = next(d for d in docs if d["kind"] == "Deployment")
    spec = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] >= 2
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    c = spec["containers"][0]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["resources"]["limits"]["memory"]
    anti = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["labelSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert spec["serviceAccountName"] == sa["metadata"]["name"] == "broker"
    np = next(d for d in docs if d["kind"] == "NetworkPolicy")
    assert np["spec"]["podSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    fwd_rule = np["spec"]["ingress"][0]["from"][0]
    assert fwd_rule["namespaceSelector"]["matchExpressions"][0]["values"] == ["open-webui"]
    assert fwd_rule["podSelector"]["matchLabels"]
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]


def test_alerts_name_metrics_the_programs_export():
    docs = render("-f", str(CI_VALUES))
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {"TenantgateGrantsFailing", "TenantgateVaultStale",
                           "TenantgateFeedDown", "TenantgateTenantSaturated",
                           "TenantgateKeyExpiringSoon", "TenantgateKeyExpired"}
    source = "".join(p.read_text(errors="replace") for d in ("broker", "forwarder", "common")
                     for p in (ROOT / d).glob("*.c"))
    named = set(re.findall(r"tenantgate_[a-z_]+", " ".join(alerts.values())))
    missing = {m for m in named if f'"{m}"' not in source} - PENDING_METRICS
    assert not missing, f"alerts on metrics nobody exports: {missing}"
    now_exported = {m for m in PENDING_METRICS if f'"{m}"' in source}
    assert not now_exported, f"exported now, drop from PENDING_METRICS: {now_exported}"
