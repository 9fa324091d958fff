"""The harness itself: real PostgreSQL and OpenBao, and every stand-in.

The main proof is the Vault flow the broker depends on: Kubernetes login
through the TokenReview stand-in, then a KV v2 read that the policy allows
for one tenant and refuses for another.
"""

import base64
import os
import pathlib
import re
import secrets as pysecrets
import signal
import sys
import time

import jwt
import pytest
import requests

from harness import Proc, adf, mint_openwebui, runtime, secrets

EXPECTED_TABLES = {"tenants", "users", "memberships", "group_mappings",
                   "tenant_integrations", "audit_log", "revoked_grants",
                   "schema_migrations"}

http = requests.Session()
http.trust_env = False


def basic(email, token):
    return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()


# ---- PostgreSQL -------------------------------------------------------------

def test_migrations_apply_to_real_postgres(pg, repo_root):
    # TG_MIGRATIONS_DIR: only for trying out migrations kept elsewhere
    mdir = pathlib.Path(os.environ.get("TG_MIGRATIONS_DIR") or
                        repo_root / "migrations")
    files = sorted(mdir.glob("*.sql"))
    assert files, f"no migrations in {mdir}"
    pg.create_database("harness_migrations")
    # as tui/migrate.c does: it creates schema_migrations, each file
    # runs in one transaction with its version row
    applied = pg.apply_migrations(mdir, dbname="harness_migrations")
    assert len(applied) == len(files)
    assert pg.apply_migrations(mdir, dbname="harness_migrations") == []
    tables = {r[0] for r in pg.query(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public'", dbname="harness_migrations")}
    assert EXPECTED_TABLES <= tables, EXPECTED_TABLES - tables
    assert pg.scalar("SELECT count(*) FROM schema_migrations",
                     dbname="harness_migrations") == str(len(files))
    pg.drop_database("harness_migrations")


def test_pg_restart_and_crash_keep_port_and_data(pg):
    port = pg.port
    pg.psql("CREATE TABLE IF NOT EXISTS harness_probe (v text);"
            "INSERT INTO harness_probe VALUES ('before');")
    pg.restart()
    assert pg.port == port
    assert pg.scalar("SELECT count(*) FROM harness_probe") == "1"
    pg.kill()
    assert not pg.running
    with pytest.raises(Exception):
        pg.psql("SELECT 1")
    pg.start()
    assert pg.port == port
    assert pg.scalar("SELECT v FROM harness_probe") == "before"
    pg.psql("DROP TABLE harness_probe")
    pg.create_extension("citext")
    assert pg.scalar("SELECT 'A@X.COM'::citext = 'a@x.com'::citext") == "t"
    assert pg.dsn == f"postgresql://{pg.user}@127.0.0.1:{port}/tenantgate"


# ---- OpenBao + Kubernetes auth ----------------------------------------------

GOOGLE_PATH = "secret/tenantgate/tenants/google/jira"
MS_PATH = "secret/tenantgate/tenants/microsoft/jira"
POLICY = 'path "secret/data/tenantgate/tenants/google/*" {\n' \
         '  capabilities = ["read"]\n}\n'


@pytest.fixture(scope="module")
def vault_seeded(k8s_bao):
    bao = k8s_bao
    google = {"email": "bot@google.example.com",
              "api_token": secrets.register("ATATT-g-" +
                                            pysecrets.token_urlsafe(24))}
    ms = {"email": "bot@microsoft.example.com",
          "api_token": secrets.register("ATATT-m-" +
                                        pysecrets.token_urlsafe(24))}
    assert bao.kv_put(GOOGLE_PATH, google) >= 1
    bao.kv_put(MS_PATH, ms)
    bao.write_policy("tg-google-read", POLICY)
    bao.create_k8s_role("broker", ["broker"], ["tenantgate"],
                        ["tg-google-read"], ttl="10m")
    return bao, google


def test_kv2_mount_and_root_write(bao):
    mounts = bao.api("GET", "sys/mounts", check=True).json()
    assert mounts["secret/"]["options"]["version"] == "2"
    v1 = bao.kv_put("harness/cas", {"n": 1})
    v2 = bao.kv_put("harness/cas", {"n": 2}, cas=v1)
    assert v2 == v1 + 1
    with pytest.raises(Exception):
        bao.kv_put("harness/cas", {"n": 3}, cas=v1)   # stale cas
    assert bao.kv_get("harness/cas")["data"] == {"n": 2}
    assert bao.kv_get("harness/absent") is None


def test_k8s_login_reads_own_tenant_only(vault_seeded, tokenreview):
    bao, google = vault_seeded
    before = tokenreview.count
    sa_jwt = tokenreview.mint_sa_token("tenantgate", "broker")
    r = bao.k8s_login("broker", sa_jwt)
    assert r.status_code == 200, r.text
    assert tokenreview.count == before + 1        # OpenBao asked the stand-in
    review = tokenreview.reviews[-1]
    assert review["authenticated"] and \
        review["sub"] == "system:serviceaccount:tenantgate:broker"
    auth = r.json()["auth"]
    token = secrets.register(auth["client_token"])
    assert "tg-google-read" in auth["policies"]
    assert auth["metadata"]["service_account_name"] == "broker"

    got = bao.kv_get(GOOGLE_PATH, token=token)
    assert got["data"] == google and got["metadata"]["version"] >= 1
    denied = bao.api("GET", "secret/data/tenantgate/tenants/microsoft/jira",
                     token=token)
    assert denied.status_code == 403, denied.text
    assert bao.api("POST", "secret/data/tenantgate/tenants/google/jira",
                   {"data": {"x": "y"}}, token=token).status_code == 403


def test_k8s_login_refuses_bad_service_account_tokens(vault_seeded,
                                                      tokenreview):
    bao, _ = vault_seeded
    expired = tokenreview.mint_sa_token("tenantgate", "broker", ttl=-60,
                                        iat=int(time.time()) - 120,
                                        nbf=int(time.time()) - 120)
    r = bao.k8s_login("broker", expired)
    assert r.status_code in (400, 403), r.text
    assert "auth" not in r.json() or r.json()["auth"] is None

    revoked = tokenreview.mint_sa_token("tenantgate", "broker")
    tokenreview.revoke(revoked)
    before = tokenreview.count
    r = bao.k8s_login("broker", revoked)
    assert r.status_code == 403, r.text
    assert tokenreview.count == before + 1
    assert tokenreview.reviews[-1]["authenticated"] is False

    other_sa = tokenreview.mint_sa_token("tenantgate", "forwarder")
    assert bao.k8s_login("broker", other_sa).status_code == 403

    # OpenBao does not check the signature; the review does
    from harness import TokenReview
    with TokenReview() as stranger:
        forged = stranger.mint_sa_token("tenantgate", "broker")
    assert bao.k8s_login("broker", forged).status_code == 403


def test_tokenreview_injected_failure_and_token_file(vault_seeded,
                                                     tokenreview):
    bao, _ = vault_seeded
    tokenreview.fail_next(1, status=500)
    sa_jwt = tokenreview.mint_sa_token("tenantgate", "broker")
    assert bao.k8s_login("broker", sa_jwt).status_code >= 400
    assert bao.k8s_login("broker", sa_jwt).status_code == 200
    path = tokenreview.write_token_file(sa_jwt)
    assert pathlib.Path(path).read_text() == sa_jwt
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_bao_kill_restart_same_port_reseeded_and_seal(vault_seeded,
                                                      tokenreview):
    bao, google = vault_seeded
    addr, root = bao.addr, bao.root_token
    # replay keeps the last state per resource, not the history
    bao.create_k8s_role("replay", ["a"], ["b"], ["default"], ttl="3s",
                        max_ttl="6s")
    bao.create_k8s_role("replay", ["a"], ["b"], ["default"], ttl="1h")
    bao.kv_put("harness/gone", {"x": 1})
    bao.kv_delete("harness/gone")
    bao.kill()
    with pytest.raises(requests.ConnectionError):
        bao.api("GET", "sys/health")
    bao.start()
    assert (bao.addr, bao.root_token) == (addr, root)
    assert bao.kv_get(GOOGLE_PATH)["data"] == google     # replayed
    assert bao.kv_get("harness/gone") is None
    role = bao.api("GET", "auth/kubernetes/role/replay", check=True).json()
    assert role["data"]["token_ttl"] == 3600
    r = bao.k8s_login("broker",
                      tokenreview.mint_sa_token("tenantgate", "broker"))
    assert r.status_code == 200, r.text
    bao.seal()
    assert bao.sealed() and bao.health() == 503
    assert bao.api("GET", f"secret/data/{GOOGLE_PATH[7:]}").status_code == 503
    bao.unseal()
    assert not bao.sealed()
    assert bao.kv_get(GOOGLE_PATH)["data"] == google


# ---- fake Atlassian ---------------------------------------------------------

def test_atlassian_auth_is_per_tenant(fresh_atlassian):
    a = fresh_atlassian
    g, m = a.credentials("google"), a.credentials("microsoft")
    url = a.base_url("google") + "/rest/api/3/myself"
    r = http.get(url, headers={"Authorization": basic(g["email"],
                                                      g["api_token"])})
    assert r.status_code == 200 and r.json()["emailAddress"] == g["email"]
    r = http.get(url, headers={"Authorization": basic(m["email"],
                                                      m["api_token"])})
    assert r.status_code == 401
    assert r.json()["errorMessages"]
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"Authorization": "Bearer x" * 3}) \
        .status_code == 401
    calls = a.calls_for("google")
    assert [(c.auth_tenant, c.status) for c in calls] == [
        ("google", 200), ("microsoft", 401), (None, 401), (None, 401)]
    assert calls[3].auth_scheme == "Bearer"
    dump = repr(a.calls) + str([c.to_dict() for c in a.calls])
    for cred in (g, m):
        assert cred["api_token"] not in dump
        assert basic(cred["email"], cred["api_token"])[6:] not in dump
    assert a.calls_for("microsoft") == []
    log = pathlib.Path(a.log_path).read_text()
    assert g["api_token"] not in log and "/t/google/rest/api/3/myself" in log


def test_atlassian_jira_and_confluence_shapes(fresh_atlassian):
    a = fresh_atlassian
    c = a.credentials("smallco")
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = basic(c["email"], c["api_token"])
    base = a.base_url("smallco")

    r = s.get(f"{base}/rest/api/3/search/jql", params={"jql": "project = SC"})
    assert r.json()["issues"][0] == {"id": "13001"}      # default: ids only
    seen, token = [], None
    while True:
        body = {"jql": "project = SC ORDER BY key", "maxResults": 2,
                "fields": ["summary", "status", "assignee", "description"]}
        if token:
            body["nextPageToken"] = token
        page = s.post(f"{base}/rest/api/3/search/jql", json=body).json()
        seen += page["issues"]
        if page["isLast"]:
            assert "nextPageToken" not in page
            break
        token = page["nextPageToken"]
    assert [i["key"] for i in seen] == ["SC-1", "SC-2", "SC-3"]
    assert set(seen[0]["fields"]) == {"summary", "status", "assignee",
                                      "description"}
    assert seen[0]["fields"]["status"]["name"] == "To Do"
    r = s.get(f"{base}/rest/api/3/search/jql",
              params={"jql": 'text ~ "typo"', "fields": "summary"})
    assert [i["key"] for i in r.json()["issues"]] == ["SC-2"]
    assert s.get(f"{base}/rest/api/3/search/jql",
                 params={"jql": ""}).status_code == 400

    assert s.get(f"{base}/rest/api/3/issue/SC-1").json()["fields"][
        "issuetype"]["name"] == "Task"
    r = s.get(f"{base}/rest/api/3/issue/GOOG-1")
    assert r.status_code == 404 and r.json()["errorMessages"]

    r = s.post(f"{base}/rest/api/3/issue", json={"fields": {
        "project": {"key": "SC"}, "summary": "New from test",
        "description": adf("hello"), "issuetype": {"name": "Task"}}})
    assert r.status_code == 201 and r.json()["key"] == "SC-4"
    r = s.post(f"{base}/rest/api/3/issue", json={"fields": {
        "project": {"key": "SC"}, "summary": "plain text",
        "description": "not ADF", "issuetype": {"name": "Task"}}})
    assert r.status_code == 400 and "description" in r.json()["errors"]

    r = s.post(f"{base}/rest/api/3/issue/SC-4/comment",
               json={"body": adf("a comment")})
    assert r.status_code == 201 and r.json()["id"]
    assert s.post(f"{base}/rest/api/3/issue/SC-4/comment",
                  json={"body": "plain"}).status_code == 400
    ts = s.get(f"{base}/rest/api/3/issue/SC-4/transitions").json()
    done = [t["id"] for t in ts["transitions"] if t["name"] == "Done"][0]
    r = s.post(f"{base}/rest/api/3/issue/SC-4/transitions",
               json={"transition": {"id": done}})
    assert r.status_code == 204 and r.content == b""
    assert a.issue("smallco", "SC-4")["status"] == "Done"

    r = s.get(f"{base}/wiki/rest/api/search",
              params={"cql": 'type = page AND text ~ "pricing"',
                      "limit": 10}).json()
    assert r["size"] == 1
    hit = r["results"][0]
    assert hit["content"]["title"] == "SmallCo pricing" and hit["url"]
    page = s.get(f"{base}/wiki/api/v2/pages/{hit['content']['id']}",
                 params={"body-format": "storage"}).json()
    assert page["body"]["storage"]["value"].startswith("<p>")
    assert page["_links"]["webui"]
    r = s.get(f"{base}/wiki/api/v2/pages/999999")
    assert r.status_code == 404 and r.json()["errors"][0]["status"] == 404
    assert all(c.auth_tenant == "smallco" for c in a.calls_for("smallco"))


def test_atlassian_fault_injection(fresh_atlassian):
    a = fresh_atlassian
    g = a.credentials("google")
    hdr = {"Authorization": basic(g["email"], g["api_token"])}
    url = a.base_url("google") + "/rest/api/3/myself"

    a.fault("google", status=429, retry_after=2)
    r = http.get(url, headers=hdr)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert http.get(url, headers=hdr).status_code == 200   # count=1 used up

    r = http.post(a.url + "/__control", json={
        "op": "fault", "tenant": "google", "status": 503, "count": 2})
    assert r.status_code == 200
    m = a.credentials("microsoft")
    assert http.get(a.base_url("microsoft") + "/rest/api/3/myself",
                    headers={"Authorization": basic(
                        m["email"], m["api_token"])}).status_code == 200
    assert [http.get(url, headers=hdr).status_code for _ in range(3)] == \
        [503, 503, 200]

    a.fault("google", hang=0.3)
    t0 = time.monotonic()
    assert http.get(url, headers=hdr).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    a.fault("google", hang=5)
    with pytest.raises(requests.Timeout):
        http.get(url, headers=hdr, timeout=0.2)

    a.fault("google", body_bytes=3_000_000)
    r = http.get(url, headers=hdr)
    assert r.status_code == 200 and len(r.content) == 3_000_000
    assert [c.status for c in a.calls_for("google")][:2] == [429, 200]


# ---- OIDC issuer ------------------------------------------------------------

def test_oidc_discovery_jwks_and_tokens(oidc):
    conf = http.get(oidc.discovery_url).json()
    assert conf["issuer"] == oidc.issuer and conf["jwks_uri"] == oidc.jwks_uri
    keys = {k["kid"]: k for k in http.get(oidc.jwks_uri).json()["keys"]}
    assert keys["rs1"]["kty"] == "RSA" and keys["ec1"]["crv"] == "P-256"

    client = jwt.PyJWKClient(oidc.jwks_uri)
    for alg in ("RS256", "ES256"):
        tok = oidc.mint({"sub": "u1", "email": "ana@example.com"}, alg=alg)
        key = client.get_signing_key_from_jwt(tok).key
        claims = jwt.decode(tok, key, algorithms=[alg], audience="tenantgate",
                            issuer=oidc.issuer)
        assert claims["email"] == "ana@example.com"
        assert jwt.get_unverified_header(tok)["kid"] == keys[
            "rs1" if alg == "RS256" else "ec1"]["kid"]

    expired = oidc.mint({"sub": "u1"}, exp=int(time.time()) - 10)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, oidc.rsa_public_pem, algorithms=["RS256"],
                   audience="tenantgate")
    no_exp = oidc.mint({"sub": "u1"}, exp=None)
    assert "exp" not in jwt.decode(no_exp, options={"verify_signature": False})
    assert jwt.get_unverified_header(oidc.mint_none({"sub": "u"}))[
        "alg"] == "none"
    confused = oidc.mint_confused({"sub": "u"})
    assert jwt.get_unverified_header(confused) == {"kid": "rs1",
                                                   "alg": "HS256",
                                                   "typ": "JWT"}
    import hmac
    import hashlib
    h, p, sig = confused.split(".")
    want = hmac.new(oidc.rsa_public_pem, f"{h}.{p}".encode(),
                    hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(sig + "==") == want


def test_openwebui_forwarded_user_jwt():
    secret = secrets.register("owui-" + pysecrets.token_hex(16))
    tok = mint_openwebui("ana.lopez@example.com", secret)
    claims = jwt.decode(tok, secret, algorithms=["HS256"])
    assert set(claims) == {"sub", "email", "name", "role", "iss", "iat",
                           "exp"}
    assert claims["iss"] == "open-webui" and claims["role"] == "user"
    assert claims["exp"] - claims["iat"] == 300


# ---- Proc, logs, leak checker -----------------------------------------------

CHILD = r"""
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)      # force the SIGKILL path
kid = subprocess.Popen(["sleep", "300"])
print("ready pid", kid.pid, flush=True)
time.sleep(300)
"""


def test_proc_stops_whole_group_and_reads_log():
    p = Proc("stubborn", [sys.executable, "-c", CHILD],
             ready=re.compile(r"ready pid (\d+)"),
             stop_timeout=0.3, env={"TG_EXAMPLE": "1"})
    p.start()
    kid = int(p.wait_log(r"ready pid (\d+)").group(1))
    assert p.running and p.environ()["TG_EXAMPLE"] == "1"
    mark = p.log_mark()
    rc = p.stop()
    assert rc == -signal.SIGKILL and not p.running
    time.sleep(0.05)
    assert not pathlib.Path(f"/proc/{kid}").exists() or \
        "Z" in pathlib.Path(f"/proc/{kid}/stat").read_text().split()[2]
    assert p.log_text(since=mark) == ""
    assert p.log_path in runtime.all_log_paths()
    p.close()
    assert not os.path.exists(p.dir)


def test_leak_checker_and_log_registry(pg, bao, atlassian, oidc, tmp):
    logs = runtime.all_log_paths()
    for c in (pg, bao, atlassian, oidc):
        assert c.log_path in logs
    value = secrets.register("leak-probe-" + pysecrets.token_hex(8))
    f = tmp / "x.log"
    f.write_text(f"line 1\nsomething {value} here\n")
    assert secrets.scan_file(str(f), record=False) == [secrets.hint(value)]
    assert secrets.scan_text("clean", "t", record=False) == []
    with pytest.raises(ValueError):
        secrets.register("short")


def test_stack_seeds_vault_and_broker_identity(stack):
    versions = stack.seed_vault(tenants=["google", "smallco"])
    assert set(versions) == {("google", "jira"), ("google", "confluence"),
                             ("smallco", "jira"), ("smallco", "confluence")}
    stack.bao.write_policy("tg-broker", 'path "secret/data/tenantgate/*"'
                           ' { capabilities = ["read"] }')
    token_file = stack.k8s_identity("tg-broker", policies=["tg-broker"])
    r = stack.bao.k8s_login("tg-broker", pathlib.Path(token_file).read_text())
    assert r.status_code == 200, r.text
    tok = secrets.register(r.json()["auth"]["client_token"])
    got = stack.bao.kv_get(stack.vault_path("smallco", "jira"), token=tok)
    assert got["data"] == stack.atlassian.credentials("smallco")
    env = stack.env()
    assert env["TG_PG_DSN"] == stack.pg.dsn and env["BAO_ADDR"] == \
        stack.bao.addr
