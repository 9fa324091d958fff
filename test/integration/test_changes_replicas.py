"""Access changes reach every forwarder replica (issue 14, point 8): two
brokers and two forwarders on one PostgreSQL and one OpenBao, each
forwarder on its own broker. For each kind of narrowing change (membership
removed, role lowered, user revoked with `tenantgate-admin grant revoke
--user`, grant revoked, tenant disabled, integration disabled, key
rotated), with warm caches at both forwarders, the change is refused (or,
for a revoked grant or a rotated key, the old credential is no longer
used) at both forwarders within 1.5 s, for a reused OIDC token and for
fresh Open WebUI JWTs. Also: a grant minted by one broker is redeemed by
the other, and a signing-key rollover across the two brokers keeps both
forwarders working. docs/forwarder.md ("Change feed") names these tests."""

import itertools
import os
import subprocess
import time

import pytest
import requests

from harness import secrets as tg_secrets
from harness.product import Tenantgate, binary, sanitizer_env, sql_quote
from harness.proc import wait_for

WITHIN = 1.5
OWUI = "X-OpenWebUI-User-Jwt"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_n = itertools.count(1)


@pytest.fixture(scope="module")
def tg(stack):
    t = Tenantgate(stack)
    t.migrate()
    t.seed_demo()
    t.store_signing_key_in_vault(kid="rep1", pem_file=t.signing_key)
    return t


@pytest.fixture(scope="module")
def pair(tg):
    """(brokers, forwarders): forwarder i talks to broker i only."""
    brokers, fwds = [], []
    try:
        for i in (1, 2):
            brokers.append(tg.start_broker(name=f"broker-rep{i}",
                                           signing_key_source="vault"))
        for i, b in enumerate(brokers, 1):
            fwds.append(tg.start_forwarder(b, name=f"forwarder-rep{i}",
                                           log_level="debug"))
        yield brokers, fwds
    finally:
        for p in fwds + brokers:
            p.stop()
        for p in fwds + brokers:
            assert p.returncode == 0, p.log_tail()


def user(tg, memberships):
    email = f"rep{next(_n)}@example.com"
    tg.add_user(email, memberships)
    return email


def tenant(tg):
    """A tenant of its own (disabling it touches no other test)."""
    slug = f"rept{next(_n)}"
    at = tg.s.atlassian
    if slug not in at.tenants:
        at.add_tenant(slug)
    tg.add_tenant(slug)
    tg.s.seed_vault([slug])
    return slug


def issue_key(tg, slug):
    return f"{tg.s.atlassian.project(slug)}-1"


def call(fwd, token, slug, tool, args, owui=False):
    h = {OWUI: token} if owui else {"Authorization": f"Bearer {token}"}
    r = requests.post(f"{fwd.url}/tools/{slug}/{tool}/execute", json=args,
                      headers=h, timeout=30)
    tg_secrets.scan_text(r.text, "forwarder answer")
    return r


def get_issue(tg, fwd, token, slug, owui=False):
    return call(fwd, token, slug, "jira_get_issue",
                {"issue_key": issue_key(tg, slug)}, owui)


class Probe:
    """One user's calls at every forwarder: the reused OIDC token, and a
    fresh Open WebUI JWT per call (minted ahead when asked)."""

    def __init__(self, tg, fwds, email, slug, tool="jira_get_issue", args=None):
        self.tg, self.fwds, self.email, self.slug = tg, fwds, email, slug
        self.tool = tool
        self.args = args or {"issue_key": issue_key(tg, slug)}
        self.oidc = tg.user_token(email)
        self.spare = []

    def mint_ahead(self, n):
        self.spare += [self.tg.owui_token(self.email) for _ in range(n)]

    def owui(self):
        return self.spare.pop() if self.spare else self.tg.owui_token(self.email)

    def statuses(self):
        out = []
        for f in self.fwds:
            out.append(call(f, self.oidc, self.slug, self.tool, self.args).status_code)
            out.append(call(f, self.owui(), self.slug, self.tool, self.args,
                            owui=True).status_code)
        return out

    def warm(self):
        for _ in range(2):
            assert self.statuses() == [200] * 4

    def refused_within(self, codes=(401, 403, 404), within=WITHIN):
        """Seconds until every forwarder refuses both token kinds."""
        t0 = time.monotonic()
        while True:
            st = self.statuses()
            dt = time.monotonic() - t0
            if all(s in codes for s in st):
                return dt
            assert dt < within, f"after {dt:.2f}s still {st} (want {codes})"
            time.sleep(0.05)


def metric(fwd, name):
    import re
    text = requests.get(fwd.url + "/metrics", timeout=5).text
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def test_feeds_current_and_caches_used(tg, pair):
    """The refusals below come from the feed, not from a forwarder that
    asks the broker per call: both feeds are current and a warm call
    redeems nothing."""
    _, fwds = pair
    email = user(tg, {"microsoft": "viewer"})
    p = Probe(tg, fwds, email, "microsoft")
    p.warm()
    for f in fwds:
        assert metric(f, "tenantgate_forwarder_feed_current") == 1
        assert metric(f, "tenantgate_forwarder_credential_cache_entries") >= 1

    def redeems():
        return int(tg.s.pg.scalar("select count(*) from audit_log where action ="
                                  f" 'grant.redeem' and actor = {sql_quote(email)}"))
    before = redeems()
    assert p.statuses() == [200] * 4
    assert redeems() == before


def test_membership_removed(tg, pair):
    _, fwds = pair
    email = user(tg, {"google": "editor"})
    p = Probe(tg, fwds, email, "google")
    p.warm()
    tg.remove_member(email, "google")
    p.refused_within()


def test_role_lowered(tg, pair):
    _, fwds = pair
    email = user(tg, {"google": "editor"})
    p = Probe(tg, fwds, email, "google", tool="jira_add_comment",
              args={"issue_key": issue_key(tg, "google"), "body": "replica test"})
    p.warm()
    tg.add_member(email, "google", "viewer")
    p.refused_within(codes=(403,))
    # reading still works
    assert get_issue(tg, fwds[0], p.oidc, "google").status_code == 200


def admin(tg, *args):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "HOME": str(tg.dir), "TENANTGATE_DATABASE_URL": tg.s.pg.dsn,
           "VAULT_ADDR": tg.s.bao.addr, "VAULT_TOKEN": tg.s.bao.root_token,
           "TENANTGATE_ACTOR": "replica-test", "TENANTGATE_DATADIR": REPO,
           **sanitizer_env()}
    r = subprocess.run([binary("tenantgate-admin"), *args], capture_output=True,
                       text=True, env=env, timeout=60, cwd=str(tg.dir))
    tg_secrets.scan_text(r.stdout + r.stderr, "tenantgate-admin")
    assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r.stdout


def test_user_revoked_with_admin_cli(tg, pair):
    _, fwds = pair
    email = user(tg, {"google": "editor"})
    p = Probe(tg, fwds, email, "google")
    p.warm()
    # Open WebUI JWTs signed before the revocation, never seen by a
    # forwarder: they too must be refused.
    p.mint_ahead(200)
    time.sleep(1.1)             # iat has one-second granularity
    out = admin(tg, "grant", "revoke", "--user", email, "--yes")
    assert "must sign in again" in out
    p.refused_within(codes=(401, 403))


def test_grant_revoked(tg, pair):
    brokers, fwds = pair
    email = user(tg, {"google": "editor"})
    p = Probe(tg, fwds, email, "google")
    p.warm()
    # The grants the forwarders hold for the OIDC token: each broker hands
    # out again the one it minted while nothing changed (forwarder i talks to
    # broker i, and reuse is per broker, so there may be two).
    import jwt as pyjwt
    held = set()
    for b in brokers:
        r = requests.post(b.url + "/v1/grants", timeout=10,
                          json={"assertion": p.oidc, "tenants": ["google"]},
                          headers={"Authorization": f"Bearer {tg.caller_secret}"})
        assert r.status_code == 200, r.text
        (g,) = r.json()["grants"]
        held.add(pyjwt.decode(g["token"], options={"verify_signature": False})["jti"])
    quoted = ", ".join(sql_quote(j) for j in sorted(held))

    def redeems_of_other_grants():
        return int(tg.s.pg.scalar(
            "select count(*) from audit_log where action = 'grant.redeem'"
            f" and actor = {sql_quote(email)} and subject not in ({quoted})"))
    base = redeems_of_other_grants()
    for jti in sorted(held):
        assert "revoked" in admin(tg, "grant", "revoke", jti, "--yes")
    t0 = time.monotonic()
    seq = int(tg.s.pg.scalar("select max(seq) from access_changes where kind ="
                             f" 'grant_revoked' and jti in ({quoted})"))
    # Both forwarders have applied the revocations (and so dropped the
    # grants and their credentials) within the bound ...
    wait_for(lambda: all((metric(f, "tenantgate_forwarder_feed_seq") or 0) >= seq
                         for f in fwds), timeout=WITHIN,
             what="the revocations applied at both forwarders")
    assert time.monotonic() - t0 <= WITHIN
    # ... so their next calls take new grants and redeem with them (how fast
    # is the broker's and the upstream's speed, not the feed's).
    wait_for(lambda: (p.statuses() == [200] * 4 and
                      redeems_of_other_grants() >= base + 2),
             timeout=10, what="new grants redeemed at both forwarders")


def test_tenant_disabled(tg, pair):
    _, fwds = pair
    slug = tenant(tg)
    email = user(tg, {slug: "editor", "smallco": "viewer"})
    p = Probe(tg, fwds, email, slug)
    p.warm()
    tg.sql(f"update tenants set status = 'disabled' where id = {sql_quote(slug)}")
    p.refused_within()
    # the user's other tenant is untouched
    assert get_issue(tg, fwds[1], p.oidc, "smallco").status_code == 200


def test_integration_disabled(tg, pair):
    _, fwds = pair
    slug = tenant(tg)
    email = user(tg, {slug: "editor"})
    p = Probe(tg, fwds, email, slug)
    p.warm()
    tg.sql("update tenant_integrations set enabled = false where tenant_id = "
           f"{sql_quote(slug)} and name = 'jira'")
    p.refused_within()


def test_key_rotated(tg, pair):
    _, fwds = pair
    slug = tenant(tg)
    email = user(tg, {slug: "editor"})
    p = Probe(tg, fwds, email, slug)
    p.warm()
    at = tg.s.atlassian
    # The new key goes to Vault and the integration's cred_version moves
    # (what `key rotate` does); the old key still works at Atlassian here.
    new_token = "ATATT3xFfGF0" + os.urandom(27).hex()
    tg_secrets.register(new_token)
    v = tg.s.bao.kv_put(tg.s.vault_path(slug, "jira"),
                        {"email": at.tenants[slug].email, "api_token": new_token})
    tg.sql(f"update tenant_integrations set cred_version = {v} where tenant_id = "
           f"{sql_quote(slug)} and name = 'jira'")
    time.sleep(WITHIN)
    # Now Atlassian accepts only the new key: any forwarder still holding
    # the old one would meet a 401 first.
    at.set_credentials(slug, api_token=new_token)
    at.reset_calls()
    assert p.statuses() == [200] * 4
    assert {c.status for c in at.calls_for(slug)} == {200}


def test_grant_from_one_broker_redeems_at_the_other(tg, pair):
    brokers, _ = pair
    h = {"Authorization": f"Bearer {tg.caller_secret}"}
    for a, b in ((0, 1), (1, 0)):
        r = requests.post(brokers[a].url + "/v1/grants", headers=h, timeout=10,
                          json={"assertion": tg.user_token("bob@example.com"),
                                "tenants": ["microsoft"]})
        assert r.status_code == 200, r.text
        (g,) = r.json()["grants"]
        r = requests.post(brokers[b].url + "/v1/redeem", headers=h, timeout=10,
                          json={"grant": g["token"], "integration": "jira"})
        assert r.status_code == 200, r.text
        assert r.json()["tenant"] == "microsoft"


def test_signing_key_rollover_across_brokers(tg, pair):
    import jwt as pyjwt
    brokers, fwds = pair
    h = {"Authorization": f"Bearer {tg.caller_secret}"}

    def grant(b):
        r = requests.post(b.url + "/v1/grants", headers=h, timeout=10,
                          json={"assertion": tg.user_token("alice@example.com"),
                                "tenants": ["google"]})
        assert r.status_code == 200, r.text
        return r.json()["grants"][0]["token"]
    email = user(tg, {"google": "editor"})
    p = Probe(tg, fwds, email, "google")
    p.warm()
    old = grant(brokers[0])
    assert pyjwt.get_unverified_header(old)["kid"] == "rep1"
    new_pem = tg.new_signing_key("signing-rep2.pem")
    tg.store_signing_key_in_vault(kid="rep2", pem_file=new_pem, previous_kid="rep1",
                                  previous_pem_file=tg.signing_key)
    # One broker at a time, as a rolling restart would.
    for b in brokers:
        tg.reconfigure(b, signing_key_source="vault")
        assert p.statuses() == [200] * 4
    for a, b in ((0, 1), (1, 0)):
        new = grant(brokers[a])
        assert pyjwt.get_unverified_header(new)["kid"] == "rep2"
        for t in (old, new):
            r = requests.post(brokers[b].url + "/v1/redeem", headers=h, timeout=10,
                              json={"grant": t, "integration": "jira"})
            assert r.status_code == 200, r.text
    assert p.statuses() == [200] * 4
