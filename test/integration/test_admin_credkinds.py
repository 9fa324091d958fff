"""tenantgate-admin onboarding and rotation for each Atlassian credential
kind (docs/atlassian.md): classic keys are checked at the site; scoped
tokens and service-account keys at the API gateway, under the cloud id
onboarding reads from <site>/_edge/tenant_info and stores. The fake
Atlassian's call log shows where each check went and with which scheme.
"""

import pytest

from harness import runtime

from .test_admin_cli import (ACTOR, MIGRATION_FILES, PREFIX, Admin, new_key,
                             write_repo_policy)

DB = "tg_admin_credkinds"


@pytest.fixture(scope="module")
def admin(stack):
    stack.pg.create_database(DB)
    write_repo_policy(stack.bao, "tenantgate-onboarding", "tenantgate-onboarding.hcl")
    a = Admin(stack, DB, stack.bao.create_token(["tenantgate-onboarding"]))
    r = a.ok("migrate")
    assert f"applied {len(MIGRATION_FILES)} migration(s)" in r.stdout
    yield a
    runtime.remove_tempdir(a.home)


def tenant(admin, slug, kind):
    at = admin.s.atlassian
    if slug not in at.tenants:
        at.add_tenant(slug, cred_kind=kind)
    return at


def onboard(admin, slug, *extra, key=None, email=True):
    at = admin.s.atlassian
    t = at.tenants[slug]
    # the fake Atlassian is plain http on loopback
    args = ["onboard", slug, "--site", at.base_url(slug), "--yes", "--insecure-site",
            "--api-gateway", at.gateway, *extra]
    if email:
        args += ["--email", t.email]
    return admin.run(*args, input=key if key is not None else t.api_token)


def row(admin, slug, name):
    return admin.rows("select cred_kind, coalesce(cloud_id, ''), coalesce(api_url, '')"
                      " from tenant_integrations where tenant_id = '%s' and name = '%s'"
                      % (slug, name))[0]


def checks(at, slug):
    """(via, scheme, path, status) of the fake's calls for slug."""
    return [(c.via, c.auth_scheme, c.path, c.status) for c in at.calls_for(slug)]


def test_scoped_token_is_checked_at_the_gateway_and_its_cloud_id_stored(admin):
    at = tenant(admin, "scopy", "scoped")
    at.reset_calls()
    r = onboard(admin, "scopy", "--key-kind", "scoped")
    assert r.returncode == 0, r.stderr
    cid = at.cloud_id("scopy")
    assert f"[done] cloud id {cid} (from {at.base_url('scopy')}/_edge/tenant_info)" \
        in r.stderr
    assert f"the key works at {at.api_url('scopy', 'jira')}" in r.stderr
    assert checks(at, "scopy") == [
        ("gateway", "Basic", "/rest/api/3/myself", 200),
        ("gateway", "Basic", "/wiki/rest/api/user/current", 200)]
    assert row(admin, "scopy", "jira") == ("scoped", cid, at.api_url("scopy", "jira"))
    assert row(admin, "scopy", "confluence") == ("scoped", cid,
                                                 at.api_url("scopy", "confluence"))
    assert admin.s.bao.kv_get(f"{PREFIX}/scopy/jira")["data"] == at.credentials("scopy")
    a = admin.audit(action="onboard.tenant", tenant="scopy")[-1]
    assert a["detail"]["key_kind"] == "scoped" and a["detail"]["cloud_id"] == cid
    assert {k["detail"]["key_kind"] for k in admin.audit(action="onboard.key",
                                                         tenant="scopy")} == {"scoped"}
    # rotation checks the new token at the gateway too
    at.reset_calls()
    new = at.set_credentials("scopy")
    r = admin.run("key", "rotate", "scopy", "jira", "--yes", input=new["api_token"])
    assert r.returncode == 0, r.stderr
    assert f"the new key works at {at.api_url('scopy', 'jira')}" in r.stderr
    assert checks(at, "scopy") == [("gateway", "Basic", "/rest/api/3/myself", 200)]


def test_scoped_token_onboarded_as_classic_is_refused_with_a_hint(admin):
    at = tenant(admin, "scopy2", "scoped")
    at.reset_calls()
    r = onboard(admin, "scopy2")
    assert r.returncode == 1
    assert "refused the new key" in r.stderr and "--key-kind scoped" in r.stderr
    assert checks(at, "scopy2") == [("site", "Basic", "/rest/api/3/myself", 401)]
    assert admin.s.bao.kv_get(f"{PREFIX}/scopy2/jira") is None
    assert admin.scalar("select count(*) from tenants where id = 'scopy2'") == "0"


def test_service_account_key_is_bearer_at_the_gateway_with_no_email(admin):
    at = tenant(admin, "svcy", "service_account")
    at.reset_calls()
    r = onboard(admin, "svcy", "--key-kind", "service_account",
                "--integrations", "jira", email=False)
    assert r.returncode == 0, r.stderr
    assert checks(at, "svcy") == [("gateway", "Bearer", "/rest/api/3/myself", 200)]
    got = admin.s.bao.kv_get(f"{PREFIX}/svcy/jira")["data"]
    assert got == {"api_key": at.tenants["svcy"].api_token}
    assert row(admin, "svcy", "jira") == ("service_account", at.cloud_id("svcy"),
                                          at.api_url("svcy", "jira"))
    # rotation: no --email needed; a wrong key writes nothing
    r = admin.run("key", "rotate", "svcy", "jira", "--yes", input=new_key())
    assert r.returncode == 1 and "refused the new key" in r.stderr
    at.reset_calls()
    new = at.set_credentials("svcy")
    r = admin.run("key", "rotate", "svcy", "jira", "--yes", input=new["api_key"])
    assert r.returncode == 0, r.stderr
    assert checks(at, "svcy") == [("gateway", "Bearer", "/rest/api/3/myself", 200)]
    assert admin.s.bao.kv_get(f"{PREFIX}/svcy/jira")["data"] == new
    a = admin.audit(action="key.rotate", tenant="svcy")[-1]
    assert a["actor"] == ACTOR and a["detail"]["verified"] is True


def test_given_cloud_id_is_used_and_dry_run_reads_nothing(admin):
    at = tenant(admin, "scopy3", "scoped")
    at.reset_calls()
    r = onboard(admin, "scopy3", "--key-kind", "scoped", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "[would] read the cloud id from" in r.stderr
    assert at.calls_for("scopy3") == []
    r = onboard(admin, "scopy3", "--key-kind", "scoped", "--cloud-id", at.cloud_id("scopy3"))
    assert r.returncode == 0, r.stderr
    assert "_edge/tenant_info" not in r.stderr
    assert row(admin, "scopy3", "jira")[0] == "scoped"


@pytest.mark.parametrize("extra,words", [
    (["--key-kind", "oauth"], "classic, scoped or service_account"),
    (["--key-kind", "scoped", "--cloud-id", "x/y"], "cloud id"),
    (["--key-kind", "scoped", "--api-gateway", "ftp://x"], "API gateway")])
def test_bad_kind_options_are_usage_errors(admin, extra, words):
    r = admin.run("onboard", "badco", "--site", "https://badco.atlassian.net",
                  "--email", "a@b.example", "--dry-run", *extra)
    assert r.returncode == 2 and words in r.stderr, r.stderr


def test_the_database_refuses_a_gateway_kind_without_its_url(admin):
    admin.sql("insert into tenants(id) values ('dbco')")
    with pytest.raises(Exception):
        admin.sql("insert into tenant_integrations(tenant_id, name, kind, base_url,"
                  " vault_path, cred_kind) values ('dbco', 'jira', 'jira',"
                  " 'https://dbco.atlassian.net', 'p', 'scoped')")
