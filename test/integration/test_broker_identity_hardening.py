"""Issue 14, points 5-7, against the real PostgreSQL, OpenBao and the
TokenReview stand-in: one canonical email (no U+0130 or Kelvin-sign
spoofing of alice@ or a k-address, exact comparison in the database and
the admin tool), email_verified and numeric-claim checks, the caller check
that cannot be turned against the Kubernetes API, user-facing errors and
/readyz meaning "can issue grants now"."""

import json
import re
import subprocess
import time

import jwt as pyjwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import secrets as tg_secrets
from harness.product import binary, sanitizer_env
from harness.proc import wait_for

ALICE_I = "al\u0130ce@example.com"          # U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE
KELVIN_KATE = "\u212Aate@example.com"       # U+212A KELVIN SIGN
INTERNAL = re.compile(r"127\.0\.0\.1|localhost|https?://|:\d{4,5}\b")


@pytest.fixture(scope="module")
def tg(tg):
    """The demo product (test/conftest.py), one user more."""
    tg.add_user("kate@example.com", {"google": "editor"})
    return tg


@pytest.fixture(scope="module")
def broker(tg):
    b = tg.start_broker(name="broker-ident")
    yield b
    b.stop()
    assert b.returncode == 0, b.log_tail()


@pytest.fixture(scope="module")
def broker_nfc(tg):
    b = tg.start_broker(name="broker-ident-nfc", email_non_ascii="nfc")
    yield b
    b.stop()
    assert b.returncode == 0, b.log_tail()


def post(url, path, body, caller):
    r = requests.post(url + path, json=body, timeout=15,
                      headers={"Authorization": f"Bearer {caller}"})
    tg_secrets.scan_text(r.text, f"broker {path} response")
    return r


def grants(tg, b, assertion, caller=None):
    return post(b.url, "/v1/grants", {"assertion": assertion},
                tg.caller_secret if caller is None else caller)


def issued_to(tg, email):
    return int(tg.s.pg.scalar("select count(*) from audit_log where action ="
                              f" 'grant.issue' and actor = '{email}'"))


# ---- point 5: identity --------------------------------------------------------

def test_dotted_capital_i_and_kelvin_refused_by_default(tg, broker):
    before = issued_to(tg, "alice@example.com") + issued_to(tg, "kate@example.com")
    for email in (ALICE_I, ALICE_I.upper(), KELVIN_KATE):
        for token in (tg.user_token(email), tg.owui_token(email)):
            r = grants(tg, broker, token)
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "email_non_ascii"
    assert issued_to(tg, "alice@example.com") + issued_to(tg, "kate@example.com") == before
    # The genuine users still work, whatever ASCII case the IdP sends.
    assert grants(tg, broker, tg.user_token("ALICE@Example.com")).status_code == 200
    assert grants(tg, broker, tg.owui_token("Kate@EXAMPLE.com")).status_code == 200


def test_nfc_mode_keeps_non_ascii_exact_never_alice(tg, broker_nfc):
    before = issued_to(tg, "alice@example.com") + issued_to(tg, "kate@example.com")
    r = grants(tg, broker_nfc, tg.user_token(ALICE_I))
    # Its own (unknown) user: not alice's google editor grant.
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "no_tenants"
    r = grants(tg, broker_nfc, tg.user_token(KELVIN_KATE))
    assert r.status_code == 401 and r.json()["error"]["code"] == "email_not_nfc", r.text
    r = grants(tg, broker_nfc, tg.user_token("jose\u0301@example.com"))
    assert r.status_code == 401 and r.json()["error"]["code"] == "email_not_nfc", r.text
    assert issued_to(tg, "alice@example.com") + issued_to(tg, "kate@example.com") == before
    # A non-ASCII user added in canonical form is matched exactly.
    tg.add_user("jos\u00e9@example.com", {"smallco": "viewer"})
    r = grants(tg, broker_nfc, tg.user_token("JOS\u00e9@EXAMPLE.COM"))
    assert r.status_code == 200, r.text
    assert r.json()["user"] == "jos\u00e9@example.com"


def test_database_compares_the_canonical_form_exactly(tg):
    pg = tg.s.pg
    assert pg.scalar("select data_type from information_schema.columns where"
                     " table_name = 'users' and column_name = 'email'") == "text"
    assert pg.scalar("select data_type from information_schema.columns where"
                     " table_name = 'user_revocations' and column_name = 'email'") == "text"
    assert pg.scalar(f"select count(*) from users where email = '{ALICE_I}'") == "0"
    assert pg.scalar(f"select count(*) from users where email = '{KELVIN_KATE}'") == "0"
    # Whoever writes a row, only the canonical form gets in.
    for bad in ("Alice2@example.com", KELVIN_KATE, "jose\u0301@example.com",
                "a b@example.com", "no-at-sign", "a@b@c"):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.dsn,
                            "-c", f"insert into users(email) values ('{bad}')"],
                           capture_output=True, text=True)
        assert r.returncode != 0 and "users_email_canonical" in r.stderr, (bad, r.stderr)
    # U+0130 in canonical form is a different user from alice.
    tg.add_user(ALICE_I)
    assert pg.scalar(f"select count(*) from users where email in"
                     f" ('alice@example.com', '{ALICE_I}')") == "2"
    assert pg.scalar("select count(*) from memberships m join users u on"
                     f" u.id = m.user_id where u.email = '{ALICE_I}'") == "0"


def test_migration_lowercases_existing_ascii(tg, stack):
    """0003 on a database that still has citext rows in mixed case."""
    db = "ident_migrate"
    stack.pg.create_database(db)
    import pathlib
    import shutil
    from harness import runtime
    src = pathlib.Path(__file__).resolve().parents[2] / "migrations"
    only1 = pathlib.Path(runtime.make_tempdir("mig1"))
    shutil.copy(src / "0001_init.sql", only1)
    stack.pg.apply_migrations(only1, dbname=db)
    stack.pg.psql("insert into users(email) values ('Zed@Example.COM');"
                  " insert into user_revocations(email, revoked_before)"
                  " values ('Zed@Example.COM', now())", dbname=db)
    tg.migrate(dbname=db)
    assert stack.pg.scalar("select email from users", dbname=db) == "zed@example.com"
    assert stack.pg.scalar("select email from user_revocations",
                           dbname=db) == "zed@example.com"


def test_email_verified_must_be_json_true(tg, broker):
    for v in (False, "false", "true", 0, 1, None):
        claims = {"email_verified": v} if v is not None else {"email_verified": "null"}
        r = grants(tg, broker, tg.user_token("alice@example.com", **claims))
        assert r.status_code == 401, (v, r.text)
        assert r.json()["error"]["code"] == "email_not_verified"
    r = grants(tg, broker, tg.user_token("alice@example.com", email_verified=True))
    assert r.status_code == 200


def test_require_email_verified(tg):
    b = tg.start_broker(name="broker-ident-ev", require_email_verified="true")
    try:
        r = grants(tg, b, tg.user_token("alice@example.com"))
        assert r.status_code == 401 and r.json()["error"]["code"] == "email_not_verified"
        r = grants(tg, b, tg.user_token("alice@example.com", email_verified=True))
        assert r.status_code == 200, r.text
        # Open WebUI's JWT has no such claim; its users are not affected.
        assert grants(tg, b, tg.owui_token("alice@example.com")).status_code == 200
    finally:
        b.stop()
    assert b.returncode == 0, b.log_tail()


def test_numeric_claims_range_checked(tg, broker):
    now = int(time.time())
    for claims in ({"exp": 1e300}, {"exp": 1.8e19}, {"exp": now + 600, "iat": -1},
                   {"exp": now + 600, "nbf": -1e300}, {"exp": now + 600, "iat": 9e18}):
        r = grants(tg, broker, tg.user_token("alice@example.com", **claims))
        assert r.status_code == 401, (claims, r.text)
        assert r.json()["error"]["code"] in ("token_malformed", "token_not_yet_valid")
        r = grants(tg, broker, tg.owui_token("alice@example.com", **claims))
        assert r.status_code == 401, (claims, r.text)
    # Still alive: UBSan (halt_on_error) would have stopped it on UB.
    assert requests.get(broker.url + "/healthz", timeout=5).status_code == 200


def test_admin_canonicalises_like_the_broker(tg, stack):
    def admin(*args, conf=None):
        import os
        from harness import runtime
        home = runtime.make_tempdir("admin-ident")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
               "LANG": "C.UTF-8", "TENANTGATE_DATABASE_URL": stack.pg.dsn,
               "TENANTGATE_ACTOR": "ident-test", **sanitizer_env()}
        if conf:
            p = f"{home}/admin.conf"
            with open(p, "w") as f:
                f.write(conf)
            env["TENANTGATE_ADMIN_CONFIG"] = p
        r = subprocess.run([binary("tenantgate-admin"), *args], input="y\n",
                           capture_output=True, text=True, env=env, timeout=60)
        assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
        return r

    r = admin("user", "add", "Lena@Example.COM")
    assert r.returncode == 0, r.stderr
    assert stack.pg.scalar("select count(*) from users where email ="
                           " 'lena@example.com'") == "1"
    r = admin("member", "add", "LENA@example.com", "google", "--role", "viewer")
    assert r.returncode == 0, r.stderr
    # Kelvin sign and U+0130: refused by default, Kelvin refused with nfc.
    r = admin("user", "add", KELVIN_KATE)
    assert r.returncode != 0 and "non-ASCII" in r.stderr, r.stderr
    r = admin("member", "add", ALICE_I, "google", "--role", "admin")
    assert r.returncode != 0, r.stderr
    r = admin("user", "add", KELVIN_KATE, conf="email_non_ascii = nfc\n")
    assert r.returncode != 0 and "U+212A" in r.stderr, r.stderr
    # alice's role is untouched by any of it.
    assert stack.pg.scalar("select role from memberships m join users u on"
                           " u.id = m.user_id where u.email = 'alice@example.com'"
                           " and m.tenant_id = 'google'") == "editor"


# ---- point 6: callers ------------------------------------------------------------

def forged_sa(tr, name="forwarder", **claims):
    """An SA-shaped token the stand-in did not sign: TokenReview refuses it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    payload = {"iss": tr.issuer, "sub": f"system:serviceaccount:tenantgate:{name}",
               "aud": ["tenantgate-broker"], "iat": now, "exp": now + 600,
               "kubernetes.io": {"namespace": "tenantgate",
                                 "serviceaccount": {"name": name, "uid": "x"}}}
    payload.update(claims)
    return pyjwt.encode(payload, key, algorithm="RS256", headers={"kid": tr.kid})


def test_only_service_account_jwts_reach_tokenreview(tg, broker):
    tr = tg.s.tokenreview
    n = tr.count
    for caller in ("garbage", "a.b.c", "x" * 500, tg.user_token("alice@example.com"),
                   tg.owui_token("alice@example.com"),
                   tr.mint_sa_token("tenantgate", "intruder", audiences=["tenantgate-broker"]),
                   tr.mint_sa_token("tenantgate", "forwarder", ttl=-10)):
        r = grants(tg, broker, tg.user_token("alice@example.com"), caller=caller)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] in ("caller_unauthenticated", "caller_not_allowed")
    assert tr.count == n, "a non-service-account value was sent to the Kubernetes API"


def test_refused_tokens_cached_and_text_never_echoed(tg, broker):
    tr = tg.s.tokenreview
    bad = forged_sa(tr)
    n = tr.count
    for _ in range(10):
        r = grants(tg, broker, tg.user_token("alice@example.com"), caller=bad)
        assert r.status_code == 401, r.text
        assert "invalid bearer token" not in r.text and "signature" not in r.text.lower()
        assert r.json()["error"]["message"] == "caller credential not accepted"
    assert tr.count == n + 1, "a refused token was reviewed again"
    m = requests.get(broker.url + "/metrics", timeout=5).text
    assert re.search(r"^tenantgate_callers_refused_cached_total [1-9]", m, re.M)
    # The genuine forwarder is unaffected.
    ok = tr.mint_sa_token("tenantgate", "forwarder", audiences=["tenantgate-broker"])
    assert grants(tg, broker, tg.user_token("alice@example.com"), caller=ok).status_code == 200


def test_reviews_rate_limited(tg):
    tr = tg.s.tokenreview
    b = tg.start_broker(name="broker-ident-rl", callers_review_rate="1")
    try:
        n = tr.count
        statuses = []
        t0 = time.monotonic()
        for _ in range(12):
            r = grants(tg, b, tg.user_token("alice@example.com"), caller=forged_sa(tr))
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers.get("Retry-After") == "1"
                assert r.json()["error"]["code"] == "caller_check_limited"
        elapsed = time.monotonic() - t0
        assert 429 in statuses, statuses
        # burst 2, then 1 per second
        assert tr.count - n <= 2 + int(elapsed) + 1, (tr.count - n, elapsed)
    finally:
        b.stop()
    assert b.returncode == 0, b.log_tail()


def test_tokenreview_down_is_503_without_its_text(tg, broker):
    tr = tg.s.tokenreview
    tr.fail_next(1, status=500)
    r = grants(tg, broker, tg.user_token("alice@example.com"),
               caller=tr.mint_sa_token("tenantgate", "forwarder",
                                       audiences=["tenantgate-broker"]))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "caller_check_unavailable"
    assert not INTERNAL.search(r.json()["error"]["message"]), r.text
    assert "injected" not in r.text


# ---- point 7: errors and readiness ---------------------------------------------------

def test_vault_login_failure_is_503_for_users(tg, stack):
    bogus = tg._write("bogus-vault-token", "s.not-a-real-token-at-all\n")
    b = tg.start_broker(name="broker-ident-vault", vault_auth="token",
                        vault_token_file=bogus, wait_ready=False)
    try:
        wait_for(lambda: requests.get(b.url + "/healthz", timeout=5).status_code == 200,
                 timeout=30, what="broker up")
        r = grants(tg, b, tg.user_token("alice@example.com"))
        assert r.status_code == 200, r.text     # the signing key is a file: grants work
        token = [g for g in r.json()["grants"] if g["tenant"] == "google"][0]["token"]
        r = post(b.url, "/v1/redeem", {"grant": token, "integration": "jira"},
                 tg.caller_secret)
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["code"].startswith("vault_")
        assert "try again" in err["message"]
        assert not INTERNAL.search(err["message"]), err
        assert "Retry-After" in r.headers
        # ... while the log keeps the detail for operators.
        assert b.log_contains("the caller was told: HTTP 503")
        body = requests.get(b.url + "/readyz", timeout=5).json()
        assert body["ready"] is False and not INTERNAL.search(json.dumps(body)), body
    finally:
        b.stop()


def test_readyz_rides_out_a_database_blip_then_fails_closed(tg, stack):
    b = tg.start_broker(name="broker-ident-db", members_max_stale="6s")
    try:
        assert grants(tg, b, tg.user_token("alice@example.com")).status_code == 200
        assert requests.get(b.url + "/readyz", timeout=5).status_code == 200
        stack.pg.stop()
        try:
            body = wait_for(lambda: (lambda r: r.json() if r.status_code == 200 and
                                     not r.json()["database"]["ok"] else None)(
                requests.get(b.url + "/readyz", timeout=10)),
                timeout=5, what="readyz 200 with the database down")
            assert body["database"]["max_stale_s"] == 6
            assert body["database"]["stale_s"] >= 0
            assert not INTERNAL.search(json.dumps(body)), body
            # A user not cached gets 503 with no host or port in it.
            r = grants(tg, b, tg.user_token("dave@example.com"))
            assert r.status_code == 503, r.text
            assert not INTERNAL.search(r.json()["error"]["message"]), r.text
            m = requests.get(b.url + "/metrics", timeout=5).text
            assert re.search(r"^tenantgate_broker_db_stale_seconds \d", m, re.M)
            # Past members_max_stale: not ready.
            body = wait_for(lambda: (lambda r: r.json() if r.status_code == 503 else None)(
                requests.get(b.url + "/readyz", timeout=10)),
                timeout=15, what="readyz 503 past members_max_stale")
            assert body["ready"] is False and "members_max_stale" in body["reason"]
            m = requests.get(b.url + "/metrics", timeout=5).text
            assert re.search(r"^tenantgate_broker_ready 0$", m, re.M)
        finally:
            stack.pg.start()
        wait_for(lambda: requests.get(b.url + "/readyz", timeout=10).status_code == 200,
                 timeout=30, what="ready again")
        m = requests.get(b.url + "/metrics", timeout=5).text
        assert re.search(r"^tenantgate_broker_ready 1$", m, re.M)
    finally:
        b.stop()
