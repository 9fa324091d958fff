"""tenantgate-broker against the real OpenBao (Kubernetes auth) and the real
PostgreSQL of the harness: the three seed cases, redeem and its refusals,
identity attacks, caller authentication, Vault and PostgreSQL outages,
token renewal and re-login, and a leak check over everything it said."""

import base64
import json
import re
import socket
import time

import jwt as pyjwt
import pytest
import requests

from harness import secrets as tg_secrets
from harness.product import Tenantgate
from harness.proc import wait_for

READ_JIRA = {"jira_search", "jira_get_issue", "jira_get_transitions"}
READ_CONFLUENCE = {"confluence_search", "confluence_get_page"}
ALL_TOOLS = READ_JIRA | READ_CONFLUENCE | {
    "jira_create_issue", "jira_add_comment", "jira_transition_issue"}


@pytest.fixture(scope="module")
def broker(tg):
    b = tg.start_broker()
    yield b
    b.stop()
    assert b.returncode == 0, b.log_tail()


class Client:
    """Talks to the broker as a forwarder would; every response body that
    must not hold a credential goes through the leak scanner."""

    def __init__(self, tg, url, caller=None):
        self.tg, self.url = tg, url
        self.caller = tg.caller_secret if caller is None else caller

    def _headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.caller}"} if self.caller else {}
        h.update(extra or {})
        return h

    def post(self, path, body, headers=None, scan=True):
        r = requests.post(self.url + path, json=body, timeout=10,
                          headers=self._headers(headers))
        if scan:
            tg_secrets.scan_text(r.text, f"broker {path} response")
        return r

    def grants(self, assertion, **kw):
        return self.post("/v1/grants", {"assertion": assertion, **kw})

    def redeem(self, grant, integration="jira"):
        return self.post("/v1/redeem", {"grant": grant,
                                        "integration": integration},
                         scan=False)


@pytest.fixture(scope="module")
def client(tg, broker):
    return Client(tg, broker.url)


def grant_for(client, tg, email, tenant):
    r = client.grants(tg.user_token(email), tenants=[tenant])
    assert r.status_code == 200, r.text
    return r.json()["grants"][0]["token"]


def claims_of(token):
    return pyjwt.decode(token, options={"verify_signature": False})


# ---- the seed cases ----------------------------------------------------------

def test_one_tenant_user_gets_that_tenant_only(client, tg):
    r = client.grants(tg.user_token("alice@example.com"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == "alice@example.com"
    assert [g["tenant"] for g in body["grants"]] == ["google"]
    g = body["grants"][0]
    assert g["role"] == "editor" and set(g["tools"]) == ALL_TOOLS
    c = claims_of(g["token"])
    assert c["tenant"] == "google" and c["sub"] == "alice@example.com"
    assert c["exp"] - c["iat"] <= 300 and c["jti"]
    assert set(c["integrations"]) == {"jira", "confluence"}


def test_two_tenant_user_gets_both(client, tg):
    r = client.grants(tg.user_token("bob@example.com"))
    assert r.status_code == 200, r.text
    assert sorted(g["tenant"] for g in r.json()["grants"]) == \
        ["google", "microsoft"]


def test_no_tenant_user_gets_none(client, tg):
    r = client.grants(tg.user_token("carol@example.com"))
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "no_tenants"
    assert "carol@example.com is not a member of any tenant" in err["message"]


def test_viewer_gets_read_tools_only(client, tg):
    r = client.grants(tg.user_token("dave@example.com"))
    assert r.status_code == 200, r.text
    (g,) = r.json()["grants"]
    assert g["tenant"] == "smallco" and g["role"] == "viewer"
    assert set(g["tools"]) == READ_JIRA | READ_CONFLUENCE


def test_asking_for_a_tenant_of_someone_else(client, tg):
    r = client.grants(tg.user_token("alice@example.com"),
                      tenants=["microsoft"])
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "no_tenants"
    r = client.grants(tg.user_token("alice@example.com"),
                      tenants=["google", "microsoft"])
    assert r.status_code == 200
    body = r.json()
    assert [g["tenant"] for g in body["grants"]] == ["google"]
    assert body["denied"] == [{"tenant": "microsoft", "reason": "not_member"}]


@pytest.mark.parametrize("email,expected", [
    ("alice@example.com", [("google", "editor")]),
    ("bob@example.com", [("google", "editor"), ("microsoft", "editor")]),
    ("carol@example.com", []),
    ("dave@example.com", [("smallco", "viewer")]),
])
def test_me_tenants_agrees(broker, tg, email, expected):
    r = requests.get(broker.url + "/v1/users/me/tenants", timeout=10,
                     headers={"Authorization": "Bearer " + tg.user_token(email)})
    assert r.status_code == 200, r.text
    got = sorted((t["tenant"], t["role"]) for t in r.json()["tenants"])
    assert got == expected


def test_idp_group_mapping_grants_a_tenant(client, tg):
    tg.sql("insert into group_mappings(idp_group, tenant_id, role)"
           " values ('sg-smallco-readers', 'smallco', 'viewer')")
    token = tg.user_token("ivy@example.com", groups=["sg-smallco-readers", "x"])
    r = client.grants(token)
    assert r.status_code == 200, r.text
    (g,) = r.json()["grants"]
    assert g["tenant"] == "smallco" and g["role"] == "viewer"
    assert client.redeem(g["token"]).status_code == 200
    # the mapping removed: NOTIFY flushes, redeem re-checks membership
    tg.sql("delete from group_mappings where idp_group = 'sg-smallco-readers'")
    wait_for(lambda: client.redeem(g["token"]).status_code == 403, timeout=1.0,
             what="redeem refused after the mapping is gone")
    assert client.grants(token).status_code == 403


def test_openwebui_user_jwt_is_accepted(client, tg):
    r = client.grants(tg.owui_token("bob@example.com"))
    assert r.status_code == 200, r.text
    assert len(r.json()["grants"]) == 2


def test_tools_narrowed_on_request(client, tg):
    r = client.grants(tg.user_token("alice@example.com"),
                      tools=["jira_search", "confluence_get_page", "nope"])
    assert r.status_code == 200
    assert set(r.json()["grants"][0]["tools"]) == {"jira_search",
                                                   "confluence_get_page"}


# ---- redeem -----------------------------------------------------------------------

def test_redeem_returns_that_tenants_key_only(client, tg):
    token = grant_for(client, tg, "bob@example.com", "microsoft")
    r = client.redeem(token, "jira")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant"] == "microsoft" and body["kind"] == "jira"
    assert body["credential"] == tg.s.atlassian.credentials("microsoft")
    assert body["base_url"] == tg.s.atlassian.base_url("microsoft")
    assert tg.s.atlassian.credentials("google")["api_token"] not in r.text
    assert body["cred_version"] >= 1


def _resign_payload(token, **changes):
    """Change claims but keep the original signature: a tampered grant."""
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims.update(changes)
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return f"{h}.{p2.decode()}.{s}"


def test_tampered_tenant_claim_refused(client, tg):
    token = grant_for(client, tg, "alice@example.com", "google")
    r = client.redeem(_resign_payload(token, tenant="microsoft"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "grant_invalid"
    assert "api_token" not in r.text


def test_swapped_kid_refused(client, tg):
    token = grant_for(client, tg, "alice@example.com", "google")
    h, p, s = token.split(".")
    hdr = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    hdr["kid"] = "k-other"
    h2 = base64.urlsafe_b64encode(json.dumps(hdr).encode()).rstrip(b"=")
    r = client.redeem(f"{h2.decode()}.{p}.{s}")
    assert r.status_code == 401 and r.json()["error"]["code"] == "grant_invalid"


def test_grant_signed_by_another_key_refused(client, tg):
    from cryptography.hazmat.primitives.asymmetric import ec
    other = ec.generate_private_key(ec.SECP256R1())
    claims = claims_of(grant_for(client, tg, "alice@example.com", "google"))
    claims["tenant"] = "microsoft"
    forged = pyjwt.encode(claims, other, algorithm="ES256",
                          headers={"kid": "k1"})
    r = client.redeem(forged)
    assert r.status_code == 401 and r.json()["error"]["code"] == "grant_invalid"


def test_expired_grant_refused(client, tg):
    with open(tg.signing_key, "rb") as f:
        key = f.read()
    claims = claims_of(grant_for(client, tg, "alice@example.com", "google"))
    claims["iat"], claims["exp"] = int(time.time()) - 600, int(time.time()) - 300
    expired = pyjwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})
    r = client.redeem(expired)
    assert r.status_code == 401 and r.json()["error"]["code"] == "grant_invalid"
    assert "expired" in r.json()["error"]["message"]


def test_integration_not_in_grant_refused(client, tg):
    token = grant_for(client, tg, "alice@example.com", "google")
    r = client.redeem(token, "mcp-backend")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "integration_not_granted"


def test_replay_after_revocation_by_jti(client, tg, broker):
    token = grant_for(client, tg, "alice@example.com", "google")
    assert client.redeem(token).status_code == 200
    jti = claims_of(token)["jti"]
    r = client.post("/v1/revoke", {"jti": jti},
                    headers={"X-Tenantgate-Admin": tg.admin_token})
    assert r.status_code == 200, r.text
    r = client.redeem(token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_revoked"
    # without the admin token, no revocation
    r = client.post("/v1/revoke", {"jti": jti})
    assert r.status_code == 403


def test_revoke_by_user(client, tg):
    tg.add_user("erin@example.com", {"google": "editor"})
    token = grant_for(client, tg, "erin@example.com", "google")
    time.sleep(1.1)  # revocation covers grants issued before this second
    r = client.post("/v1/revoke", {"user": "erin@example.com"},
                    headers={"X-Tenantgate-Admin": tg.admin_token})
    assert r.status_code == 200, r.text
    assert client.redeem(token).status_code == 403


def test_membership_removal_stops_redeem_and_grants_within_a_second(client, tg):
    tg.add_user("frank@example.com", {"microsoft": "editor"})
    token = grant_for(client, tg, "frank@example.com", "microsoft")
    assert client.redeem(token).status_code == 200
    tg.remove_member("frank@example.com", "microsoft")  # trigger NOTIFYs
    t0 = time.monotonic()
    wait_for(lambda: client.redeem(token).status_code == 403, timeout=1.0,
             what="redeem refused after membership removal")
    assert time.monotonic() - t0 <= 1.0
    r = client.redeem(token)
    assert r.json()["error"]["code"] == "not_member"
    r = client.grants(tg.user_token("frank@example.com"))
    assert r.status_code == 403


# ---- callers -------------------------------------------------------------------

def test_grant_needs_a_caller(tg, broker):
    anonymous = Client(tg, broker.url, caller="")
    r = anonymous.grants(tg.user_token("alice@example.com"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "caller_unauthenticated"
    assert "Bearer" in r.headers.get("WWW-Authenticate", "")
    wrong = Client(tg, broker.url, caller="not-the-secret-at-all-0123456789")
    assert wrong.grants(tg.user_token("alice@example.com")).status_code == 401


def test_user_assertion_alone_cannot_redeem(tg, broker, client):
    token = grant_for(client, tg, "alice@example.com", "google")
    as_user = Client(tg, broker.url, caller=tg.user_token("alice@example.com"))
    r = as_user.redeem(token)
    assert r.status_code == 401
    assert "api_token" not in r.text


def test_forwarder_service_account_via_tokenreview(tg, broker):
    tr = tg.s.tokenreview
    sa = tr.mint_sa_token("tenantgate", "forwarder", audiences=["tenantgate-broker"])
    ok = Client(tg, broker.url, caller=sa)
    assert ok.grants(tg.user_token("alice@example.com")).status_code == 200
    # the forwarder's token for another service cannot be replayed here
    vault_aud = tr.mint_sa_token("tenantgate", "forwarder", audiences=["vault"])
    r = Client(tg, broker.url, caller=vault_aud).grants(tg.user_token("alice@example.com"))
    assert r.status_code == 401
    other = tr.mint_sa_token("tenantgate", "intruder", audiences=["tenantgate-broker"])
    r = Client(tg, broker.url, caller=other).grants(
        tg.user_token("alice@example.com"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "caller_not_allowed"


# ---- identity attacks -------------------------------------------------------------

def _attacks(tg):
    o = tg.s.oidc
    alice = {"sub": "u-alice", "email": "alice@example.com"}
    return {
        "alg_none": o.mint_none(alice),
        "confusion_rs256_pem_as_hs256": o.mint_confused(alice),
        "expired": o.mint(alice, iat=int(time.time()) - 7200,
                          nbf=int(time.time()) - 7200,
                          exp=int(time.time()) - 3600),
        "not_yet_valid": o.mint(alice, nbf=int(time.time()) + 3600),
        "wrong_issuer": o.mint(alice, iss="https://evil.example.com"),
        "wrong_audience": o.mint(alice, aud="someone-else"),
        "bad_signature": (lambda t: t[:-4] + ("AAAA" if t[-4:] != "AAAA"
                                              else "BBBB"))(o.mint(alice)),
        "garbage": "not.a.jwt",
        "empty_parts": "..",
        "oversize": o.mint({**alice, "pad": "x" * 20000}),
        "owui_wrong_secret": pyjwt.encode(
            {"sub": "1", "email": "alice@example.com", "iss": "open-webui",
             "iat": int(time.time()), "exp": int(time.time()) + 300},
            "wrong-secret-wrong-secret-wrong-secret", algorithm="HS256"),
        "no_email": o.mint({"sub": "u-x"}),
    }


def test_identity_attacks_refused(client, tg, broker):
    mark = broker.log_mark()
    for name, token in _attacks(tg).items():
        r = client.grants(token)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.json()["error"]["code"], name
    log = broker.log_text(since=mark)
    assert len(re.findall("user assertion refused", log)) >= len(_attacks(tg))
    assert broker.running
    assert requests.get(broker.url + "/healthz", timeout=5).status_code == 200


# ---- bad requests -------------------------------------------------------------

@pytest.mark.parametrize("body,code", [
    (b"{not json", "bad_json"),
    (b"[]", "bad_json"),
    (b"{}", "missing_field"),
    (b'{"assertion": 5}', "bad_field"),
    (b'{"assertion": "x", "tenants": "google"}', "bad_field"),
    (b'{"assertion": "x", "tools": [1]}', "bad_field"),
])
def test_bad_grant_requests(tg, broker, body, code):
    r = requests.post(broker.url + "/v1/grants", data=body, timeout=5,
                      headers={"Authorization": f"Bearer {tg.caller_secret}"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


def test_oversize_body_and_unknown_paths(tg, broker):
    r = requests.post(broker.url + "/v1/grants", data=b"x" * 70000, timeout=5,
                      headers={"Authorization": f"Bearer {tg.caller_secret}"})
    assert r.status_code == 413
    r = requests.get(broker.url + "/nope", timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.get(broker.url + "/v1/grants", timeout=5)
    assert r.status_code == 405


# ---- operations -------------------------------------------------------------

def test_jwks_readyz_metrics(client, tg, broker):
    jwks = requests.get(broker.url + "/jwks.json", timeout=5).json()
    (key,) = jwks["keys"]
    assert key["kid"] == "k1" and key["kty"] == "EC" and "d" not in key
    token = grant_for(client, tg, "alice@example.com", "google")
    pub = pyjwt.PyJWK(key).key
    assert pyjwt.decode(token, pub, algorithms=["ES256"],
                        audience="tenantgate-forwarder")["tenant"] == "google"
    r = requests.get(broker.url + "/readyz", timeout=5)
    assert r.status_code == 200 and r.json()["ready"] is True
    m = requests.get(broker.url + "/metrics", timeout=5).text
    assert re.search(r"^tenantgate_grants_issued_total [1-9]", m, re.M)
    assert 'tenantgate_grants_denied_total{reason="identity"}' in m
    assert "tenantgate_broker_request_seconds_bucket" in m


def test_sighup_reload_keeps_serving_and_refuses_bad_config(client, tg, broker):
    tg.reconfigure(broker, log_level="debug")
    assert broker.log_contains("configuration reloaded")
    assert client.grants(tg.user_token("alice@example.com")).status_code == 200
    mark = broker.log_mark()
    tg.reconfigure(broker, listen="127.0.0.1:1")   # NO_RELOAD key
    assert "cannot change on reload" in broker.log_text(since=mark)
    assert client.grants(tg.user_token("alice@example.com")).status_code == 200
    tg.reconfigure(broker)


def test_audit_has_every_decision_and_no_secret(client, tg, broker):
    rows = tg.s.pg.query("select action || ' ' || coalesce(tenant_id,'') || "
                         "' ' || detail::text from audit_log")
    text = "\n".join(r[0] for r in rows)
    for action in ("grant.issue", "grant.deny", "grant.redeem", "grant.revoke",
                   "grant.redeem_refused"):
        assert action in text, action
    tg_secrets.scan_text(text, "audit_log")
    assert not tg_secrets.report(), "a test secret reached the audit log"


# ---- outages ----------------------------------------------------------------

def test_vault_down_serves_cache_then_recovers(tg, stack):
    b = tg.start_broker(name="broker-vault", vault_cache_ttl="1s",
                        vault_cache_max_stale="30s")
    try:
        c = Client(tg, b.url)
        token = grant_for(c, tg, "bob@example.com", "google")
        assert c.redeem(token).status_code == 200       # cache filled
        stack.bao.kill()
        time.sleep(1.5)                                 # past the cache ttl
        r = c.redeem(token)
        assert r.status_code == 200, r.text             # stale but within bound
        # Within vault_cache_max_stale the broker can still serve, so it
        # stays ready (issue 14), and says how stale Vault is.
        body = wait_for(lambda: (lambda j: j if not j["vault"]["ok"] and
                                 j["vault"]["stale_s"] >= 1 else None)(
            requests.get(b.url + "/readyz", timeout=5).json()),
            timeout=15, what="readyz reporting Vault stale")
        assert body["ready"] is True
        assert body["vault"]["max_stale_s"] == 30
        assert "127.0.0.1" not in json.dumps(body)
        stack.bao.start()                               # replays the seed
        wait_for(lambda: requests.get(b.url + "/readyz", timeout=5)
                 .json()["vault"]["ok"], timeout=60, what="Vault ok again")
        assert c.redeem(token).status_code == 200
    finally:
        if not stack.bao.running:
            stack.bao.start()
        b.stop()


def test_vault_down_past_the_bound_fails_closed(tg, stack):
    b = tg.start_broker(name="broker-vault2", vault_cache_ttl="1s",
                        vault_cache_max_stale="1s")
    try:
        c = Client(tg, b.url)
        token = grant_for(c, tg, "bob@example.com", "microsoft")
        assert c.redeem(token).status_code == 200
        stack.bao.kill()
        time.sleep(2.5)
        r = c.redeem(token)
        assert r.status_code in (502, 503, 504), r.text
        assert r.json()["error"]["code"].startswith("vault_")
        assert "api_token" not in r.text
    finally:
        if not stack.bao.running:
            stack.bao.start()
        b.stop()


def test_short_ttl_token_is_renewed_then_relogged_in(tg):
    b = tg.start_broker(name="broker-ttl", token_ttl="3s", max_ttl="6s")
    try:
        def counter(name):
            m = requests.get(b.url + "/metrics", timeout=5).text
            return int(re.search(rf"^{name} (\d+)", m, re.M).group(1))
        wait_for(lambda: counter("tenantgate_vault_renewals_total") >= 1 and
                 counter("tenantgate_vault_logins_total") >= 2,
                 timeout=25, what="renewal then fresh login")
        c = Client(tg, b.url)
        token = grant_for(c, tg, "alice@example.com", "google")
        assert c.redeem(token).status_code == 200
    finally:
        b.stop()


def test_postgres_restart_reconnects_and_notify_still_works(tg, stack, client, broker):
    tg.add_user("gina@example.com", {"google": "editor"})
    assert client.grants(tg.user_token("gina@example.com")).status_code == 200
    mark = broker.log_mark()
    stack.pg.restart()
    wait_for(lambda: client.grants(tg.user_token("gina@example.com"))
             .status_code == 200, timeout=15, what="grants after PG restart")
    broker.wait_log(re.compile("listening on tenantgate_changes"), since=mark,
                    timeout=15)
    tg.remove_member("gina@example.com", "google")
    t0 = time.monotonic()
    wait_for(lambda: client.grants(tg.user_token("gina@example.com"))
             .status_code == 403, timeout=1.0, what="grant refused after NOTIFY")
    assert time.monotonic() - t0 <= 1.0


def test_postgres_down_fails_closed_for_unknown_users(tg, stack, client):
    tg.add_user("hank@example.com", {"google": "editor"})
    stack.pg.stop()
    try:
        r = client.grants(tg.user_token("hank@example.com"))
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "db_unavailable"
    finally:
        stack.pg.start()
    wait_for(lambda: client.grants(tg.user_token("hank@example.com"))
             .status_code == 200, timeout=15, what="grants after PG start")


# ---- signing key from Vault, and a key rollover --------------------------------

def test_signing_key_from_vault_and_rollover(tg):
    tg.store_signing_key_in_vault(kid="v1")
    b = tg.start_broker(name="broker-keys", signing_key_source="vault")
    try:
        c = Client(tg, b.url)
        old = grant_for(c, tg, "alice@example.com", "google")
        assert pyjwt.get_unverified_header(old)["kid"] == "v1"
        # Roll over: v2 signs, v1 is still published and accepted.
        new_pem = tg.new_signing_key("signing-v2.pem")
        tg.store_signing_key_in_vault(kid="v2", pem_file=new_pem,
                                      previous_kid="v1",
                                      previous_pem_file=tg.signing_key)
        tg.reconfigure(b, signing_key_source="vault")
        assert b.log_contains("configuration reloaded")
        kids = {k["kid"] for k in requests.get(b.url + "/jwks.json",
                                               timeout=5).json()["keys"]}
        assert kids == {"v1", "v2"}
        new = grant_for(c, tg, "alice@example.com", "google")
        assert pyjwt.get_unverified_header(new)["kid"] == "v2"
        assert c.redeem(old).status_code == 200
        assert c.redeem(new).status_code == 200
    finally:
        b.stop()


def test_tls_listener(tg, tmp_path):
    import subprocess
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    b = tg.start_broker(name="broker-tls", tls_cert_file=str(cert),
                        tls_key_file=str(key))
    try:
        https = b.url
        assert https.startswith("https://")
        r = requests.post(https + "/v1/grants", timeout=5, verify=str(cert),
                          json={"assertion": tg.user_token("alice@example.com")},
                          headers={"Authorization": f"Bearer {tg.caller_secret}"})
        assert r.status_code == 200, r.text
        # plain HTTP on the TLS listener gets no answer
        with pytest.raises(requests.RequestException):
            requests.get(https.replace("https:", "http:") + "/healthz", timeout=3)
    finally:
        b.stop()


def test_connection_limit_and_drain(tg):
    import http.client
    import signal as sig
    b = tg.start_broker(name="broker-limits", max_connections=2)
    try:
        host, port = b.url.split("//")[1].split(":")
        conns = [http.client.HTTPConnection(host, int(port), timeout=5)
                 for _ in range(3)]
        for c in conns[:2]:
            c.request("GET", "/healthz")
            assert c.getresponse().read() and True
        # at the limit, the oldest connection that has not sent a complete
        # request (here an idle keep-alive one) is shed to admit a new one
        conns[2].request("GET", "/healthz")
        assert conns[2].getresponse().status == 200
        for c in conns:
            c.close()
        # requests stuck mid-body cannot be shed: a new client gets 503
        stuck = [socket.create_connection((host, int(port)), timeout=5)
                 for _ in range(2)]
        for s in stuck:
            s.sendall(b"POST /v1/grants HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        r = requests.get(b.url + "/healthz", timeout=5)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "too_many_connections"
        stuck[0].close()
        wait_for(lambda: requests.get(b.url + "/healthz", timeout=5)
                 .status_code == 200, timeout=5, what="a free connection slot")
        stuck[1].close()
        idle = http.client.HTTPConnection(host, int(port), timeout=5)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read()
        # SIGTERM with idle keep-alive connections open: drain and exit 0
        b.signal(sig.SIGTERM)
        b.wait(timeout=10)
        assert b.returncode == 0, b.log_tail()
        assert b.log_contains("draining")
    finally:
        b.stop()


def test_sd_notify_ready_and_stopping(tg, tmp_path):
    import socket
    import signal as sig
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    try:
        b = tg.start_broker(name="broker-notify", wait_ready=False)
        b.stop()
        b.extra_env["NOTIFY_SOCKET"] = path
        b.start()
        msgs = []
        while not any(m.startswith("READY=1") for m in msgs):
            msgs.append(s.recv(4096).decode())
        b.signal(sig.SIGTERM)
        while not any(m.startswith("STOPPING=1") for m in msgs):
            msgs.append(s.recv(4096).decode())
        b.wait(timeout=10)
        assert b.returncode == 0
    finally:
        s.close()
        b.stop()


def test_grant_never_outlives_the_user_token(client, tg):
    r = client.grants(tg.user_token("alice@example.com", ttl=60))
    assert r.status_code == 200, r.text
    c = claims_of(r.json()["grants"][0]["token"])
    assert c["exp"] - c["iat"] <= 61
    assert r.json()["grants"][0]["expires_at"] == c["exp"]


def test_unix_socket_and_static_vault_token(tg, tmp_path):
    """Outside Kubernetes: a Unix socket next to the TCP listener, and a
    static Vault token (development mode, never the default)."""
    import http.client
    import socket as so

    token = tg.s.bao.create_token(["tenantgate-broker"], ttl="1h")
    tg_secrets.register(token)
    tfile = tmp_path / "vault-token"
    tfile.write_text(token + "\n")
    sock = str(tmp_path / "broker.sock")
    b = tg.start_broker(name="broker-unix", vault_auth="token",
                        vault_token_file=str(tfile), also_listen=f"unix:{sock}")
    try:
        assert b.log_contains("development only")

        class UnixConnection(http.client.HTTPConnection):
            def connect(self):
                self.sock = so.socket(so.AF_UNIX, so.SOCK_STREAM)
                self.sock.connect(sock)

        c = UnixConnection("localhost", timeout=10)
        body = json.dumps({"assertion": tg.user_token("alice@example.com")})
        c.request("POST", "/v1/grants", body=body, headers={
            "Authorization": f"Bearer {tg.caller_secret}",
            "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200
        grant = json.loads(r.read())["grants"][0]["token"]
        # the credential comes through the static token's Vault policy
        assert Client(tg, b.url).redeem(grant).status_code == 200
    finally:
        b.stop()
