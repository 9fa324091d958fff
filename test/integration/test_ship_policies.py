"""The Vault policies in policies/, enforced by the real OpenBao.

Each role logs in through Kubernetes auth (the TokenReview stand-in vouches
for its service-account token) and the test proves what that token can and
cannot do:
  - the broker reads tenant keys and the signing key, nothing else, and
    writes nothing;
  - google's tenant admins rotate google's keys and cannot read or write
    microsoft's;
  - onboarding writes tenant policies and roles, but not other policies;
  - nobody (of these roles) can destroy, delete or shrink key history.
GHSA-59w7-v8rr-pr4p (OpenBao templated policies with glob characters in
attacker-chosen identity data) does not apply: OpenBao never templates our
policies (the {{...}} of tenant-admin.hcl.tmpl is filled in by
`tenantgate-admin onboard`, with a slug limited to a-z, 0-9 and '-');
test_policies_use_no_server_side_templating keeps it that way.
"""

import pathlib
import re
import secrets as pysecrets

import pytest

import harness
from harness import secrets as tg_secrets

ROOT = pathlib.Path(__file__).resolve().parents[2]
POL = ROOT / "policies"
T = "tenantgate/tenants"
KEYS = {"google": f"{T}/google/jira", "microsoft": f"{T}/microsoft/jira"}
SIGNING = "tenantgate/broker/signing"


def render_tenant_policy(tenant):
    hcl = (POL / "tenant-admin.hcl.tmpl").read_text()
    for k, v in {"tenant": tenant, "kv_mount": "secret", "kv_prefix": "tenantgate",
                 "policy": f"tenantgate-tenant-{tenant}"}.items():
        hcl = re.sub(r"\{\{\s*%s\s*\}\}" % k, v, hcl)
    assert "{{" not in hcl
    return hcl


# role -> (service-account namespace, name, policies)
ROLES = {
    "tenantgate-broker": ("tenantgate", "broker", ["tenantgate-broker"]),
    "tenantgate-tenant-google": ("google-ops", "admin", ["tenantgate-tenant-google"]),
    "tenantgate-tenant-microsoft": ("microsoft-ops", "admin", ["tenantgate-tenant-microsoft"]),
    "tenantgate-onboarding": ("platform", "onboarding", ["tenantgate-onboarding"]),
}


@pytest.fixture(scope="module")
def vault(tokenreview):
    """Our own OpenBao: these tests write policies and roles."""
    bao = harness.OpenBao().start()
    bao.enable_kubernetes_auth(tokenreview.url)
    bao.write_policy("tenantgate-broker", (POL / "tenantgate-broker.hcl").read_text())
    bao.write_policy("tenantgate-onboarding", (POL / "tenantgate-onboarding.hcl").read_text())
    for t in ("google", "microsoft"):
        bao.write_policy(f"tenantgate-tenant-{t}", render_tenant_policy(t))
    for role, (ns, sa, pols) in ROLES.items():
        bao.create_k8s_role(role, [sa], [ns], pols, ttl="10m")
    for t, path in KEYS.items():
        for n in range(3):          # three versions of history
            key = tg_secrets.register(f"atl-{t}-{n}-" + pysecrets.token_hex(12))
            bao.kv_put(path, {"email": f"bot@{t}.example", "api_token": key})
    signing = tg_secrets.register("sign-" + pysecrets.token_hex(16))
    bao.kv_put(SIGNING, {"kid": "k1", "private_pem": signing})
    bao.kv_put("other/app", {"k": "v"})
    tokens = {}
    for role, (ns, sa, _) in ROLES.items():
        jwt = tg_secrets.register(tokenreview.mint_sa_token(ns, sa, jti=pysecrets.token_hex(8)))
        r = bao.k8s_login(role, jwt)
        assert r.status_code == 200, f"login as {role}: {r.status_code} {r.text[:300]}"
        tokens[role] = tg_secrets.register(r.json()["auth"]["client_token"])
    yield bao, tokens
    bao.close()


def status(vault, role, method, path, body=None):
    bao, tokens = vault
    if method == "PATCH":       # KV v2 patch wants a merge-patch body
        r = bao.http.request("PATCH", f"{bao.addr}/v1/{path}", json=body, timeout=10,
                             headers={"X-Vault-Token": tokens[role],
                                      "Content-Type": "application/merge-patch+json"})
        return r.status_code
    return bao.api(method, path, json=body, token=tokens[role]).status_code


def versions(vault, path):
    bao, _ = vault
    r = bao.api("GET", f"secret/metadata/{path}", check=True).json()["data"]
    return {int(k): v for k, v in r["versions"].items()}


def test_login_is_bound_to_the_service_account(vault, tokenreview):
    bao, _ = vault
    jwt = tg_secrets.register(tokenreview.mint_sa_token("google-ops", "admin",
                                                        jti=pysecrets.token_hex(8)))
    assert bao.k8s_login("tenantgate-broker", jwt).status_code == 403
    assert bao.k8s_login("tenantgate-tenant-microsoft", jwt).status_code == 403


def test_broker_reads_tenant_keys_and_the_signing_key_only(vault):
    b = "tenantgate-broker"
    for path in (*KEYS.values(), SIGNING):
        assert status(vault, b, "GET", f"secret/data/{path}") == 200, path
        assert status(vault, b, "GET", f"secret/metadata/{path}") == 200, path
    assert status(vault, b, "GET", "secret/data/other/app") == 403
    assert status(vault, b, "LIST", f"secret/metadata/{T}") == 403
    for path in (*KEYS.values(), SIGNING):
        assert status(vault, b, "POST", f"secret/data/{path}",
                      {"data": {"api_token": "x"}}) == 403, path
        assert status(vault, b, "PATCH", f"secret/data/{path}",
                      {"data": {"api_token": "x"}}) == 403, path
    assert status(vault, b, "PUT", "sys/policies/acl/tenantgate-broker",
                  {"policy": 'path "*" { capabilities = ["sudo"] }'}) == 403
    assert status(vault, b, "POST", "auth/kubernetes/role/tenantgate-broker",
                  {"token_policies": ["root"]}) == 403


def test_tenant_admin_of_google_cannot_touch_microsoft(vault):
    g = "tenantgate-tenant-google"
    ms = KEYS["microsoft"]
    assert status(vault, g, "GET", f"secret/data/{ms}") == 403
    assert status(vault, g, "GET", f"secret/metadata/{ms}") == 403
    assert status(vault, g, "LIST", f"secret/metadata/{T}/microsoft") == 403
    assert status(vault, g, "POST", f"secret/data/{ms}", {"data": {"api_token": "x"}}) == 403
    assert status(vault, g, "POST", f"secret/data/{T}/microsoft/confluence",
                  {"data": {"api_token": "x"}}) == 403
    assert status(vault, g, "GET", f"secret/data/{SIGNING}") == 403
    # a path that only starts like google's is not google's
    assert status(vault, g, "POST", f"secret/data/{T}/google-evil/jira",
                  {"data": {"api_token": "x"}}) == 403
    assert status(vault, g, "PUT", "sys/policies/acl/tenantgate-tenant-google",
                  {"policy": 'path "secret/*" { capabilities = ["read"] }'}) == 403


def test_tenant_admin_of_google_rotates_google_with_check_and_set(vault):
    bao, tokens = vault
    g = "tenantgate-tenant-google"
    path = KEYS["google"]
    assert status(vault, g, "GET", f"secret/data/{path}") == 200
    assert status(vault, g, "LIST", f"secret/metadata/{T}/google") == 200
    cur = max(versions(vault, path))
    key = tg_secrets.register("atl-google-rot-" + pysecrets.token_hex(12))
    r = bao.api("POST", f"secret/data/{path}", token=tokens[g],
                json={"options": {"cas": cur}, "data": {"email": "bot@google.example",
                                                        "api_token": key}})
    assert r.status_code == 200, r.text[:300]
    assert max(versions(vault, path)) == cur + 1


def test_onboarding_writes_tenant_policies_and_roles_only(vault):
    o = "tenantgate-onboarding"
    hcl = render_tenant_policy("newco")
    assert status(vault, o, "PUT", "sys/policies/acl/tenantgate-tenant-newco",
                  {"policy": hcl}) in (200, 204)
    assert status(vault, o, "POST", "auth/kubernetes/role/tenantgate-tenant-newco",
                  {"bound_service_account_names": ["admin"],
                   "bound_service_account_namespaces": ["newco-ops"],
                   "token_policies": ["tenantgate-tenant-newco"]}) in (200, 204)
    assert status(vault, o, "POST", f"secret/data/{T}/newco/jira",
                  {"data": {"api_token": "first"}}) == 200
    assert status(vault, o, "POST", f"secret/metadata/{T}/newco/jira",
                  {"cas_required": True}) in (200, 204)
    # but not the policies that are not per-tenant, nor itself
    for name in ("tenantgate-broker", "tenantgate-onboarding", "default", "admin"):
        assert status(vault, o, "PUT", f"sys/policies/acl/{name}",
                      {"policy": 'path "*" { capabilities = ["sudo"] }'}) == 403, name
    assert status(vault, o, "POST", "auth/kubernetes/role/tenantgate-broker",
                  {"token_policies": ["tenantgate-onboarding"]}) == 403
    assert status(vault, o, "POST", "auth/kubernetes/config",
                  {"kubernetes_host": "http://127.0.0.1:1"}) == 403
    assert status(vault, o, "GET", f"secret/data/{SIGNING}") == 403


@pytest.mark.parametrize("role", sorted(ROLES))
def test_nobody_can_destroy_key_history(vault, role):
    path = KEYS["google"]
    before = versions(vault, path)
    assert len(before) >= 3
    attempts = [
        ("POST", f"secret/destroy/{path}", {"versions": sorted(before)}),
        ("POST", f"secret/delete/{path}", {"versions": sorted(before)}),
        ("DELETE", f"secret/data/{path}", None),
        ("DELETE", f"secret/metadata/{path}", None),
        # shrinking history through metadata drops old versions on the next write
        ("POST", f"secret/metadata/{path}", {"max_versions": 1}),
        ("POST", f"secret/metadata/{path}", {"delete_version_after": "1s"}),
        ("POST", f"secret/metadata/{path}", {"cas_required": False}),
        ("POST", "secret/config", {"max_versions": 1}),
    ]
    for method, p, body in attempts:
        assert status(vault, role, method, p, body) == 403, (role, method, p, body)
    after = versions(vault, path)
    assert set(after) == set(before)
    for v, meta in after.items():
        assert not meta["destroyed"] and not meta["deletion_time"], (v, meta)


def test_policies_use_no_server_side_templating():
    """GHSA-59w7-v8rr-pr4p needs an OpenBao-templated policy ({{identity...}})
    filled with attacker-chosen data containing globs; ours have none, and
    the only placeholders are onboard's own."""
    for p in POL.iterdir():
        if p.suffix not in (".hcl", ".tmpl"):
            continue
        text = p.read_text()
        assert "identity." not in text, p.name
        placeholders = set(re.findall(r"\{\{\s*([^}\s]+)\s*\}\}", text))
        allowed = {"tenant", "kv_mount", "kv_prefix", "policy"} if p.suffix == ".tmpl" else set()
        assert placeholders <= allowed, (p.name, placeholders)
