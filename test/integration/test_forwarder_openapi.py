"""The OpenAPI tool server: /openapi.json, /tools, /tenants and
/tools/{tenant}/{tool}/execute, with the seed users of issue 5."""

import time

import pytest

from harness import wait_for

from .fake_broker import USERS, FwdEnv, catalogue, expected_tools


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian)
    yield e
    e.close()


@pytest.fixture
def atl(env, fresh_atlassian):
    yield fresh_atlassian
    fresh_atlassian.clear_faults()


def auth(env, user):
    return {"Authorization": f"Bearer {env.token(user)}"}


def execute(env, user, tenant, tool, args):
    return env.http.post(f"{env.url}/tools/{tenant}/{tool}/execute", json=args,
                         headers=auth(env, user), timeout=30)


def test_openapi_document(env):
    r = env.http.get(f"{env.url}/openapi.json")      # no identity needed
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"]
    paths = doc["paths"]
    assert "/tools" in paths and "/tenants" in paths
    op_ids = []
    for t in catalogue():
        op = paths[f"/tools/{{tenant}}/{t['name']}/execute"]["post"]
        assert op["operationId"] == t["name"]
        assert op["requestBody"]["content"]["application/json"]["schema"] == \
            t["input_schema"]
        assert op["parameters"][0]["name"] == "tenant"
        assert {"200", "401", "403", "404"} <= set(op["responses"])
        op_ids.append(op["operationId"])
    generic = paths["/tools/{tenant}/{tool}/execute"]["post"]
    assert generic["operationId"] == "execute_tool"
    for p in paths.values():
        for op in p.values():
            op_ids.append(op["operationId"])
    assert len(set(op_ids)) == len(catalogue()) + 3
    # every $ref resolves
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "openWebUiUserJwt"}


@pytest.mark.parametrize("user", sorted(USERS))
def test_tools_and_tenants_per_user(env, user):
    r = env.http.get(f"{env.url}/tools", headers=auth(env, user))
    assert r.status_code == 200
    body = r.json()
    assert {t["name"] for t in body["tools"]} == expected_tools(USERS[user])
    for t in body["tools"]:
        assert t["name"] == f"{t['tenant']}__{t['tool']}"
        assert t["execute"] == f"/tools/{t['tenant']}/{t['tool']}/execute"
        assert t["input_schema"]["type"] == "object"
    r = env.http.get(f"{env.url}/tenants", headers=auth(env, user))
    assert r.status_code == 200
    got = {t["tenant"]: t["role"] for t in r.json()["tenants"]}
    assert got == USERS[user]
    for t in r.json()["tenants"]:
        assert {i["kind"] for i in t["integrations"]} == {"jira", "confluence"}


def test_execute_runs_in_the_callers_tenant(env, atl):
    r = execute(env, "alice@example.com", "google", "jira_search",
                {"jql": "project = GOOG AND status = Done"})
    assert r.status_code == 200
    assert [i["key"] for i in r.json()["issues"]] == ["GOOG-3"]
    wait_for(lambda: atl.calls, timeout=5)
    assert atl.calls[0].auth_tenant == "google"


def test_execute_for_a_tenant_the_caller_is_not_in_is_403(env, atl):
    r = execute(env, "alice@example.com", "microsoft", "jira_search", {"jql": "project = MS"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "not_member"
    r = execute(env, "carol@example.com", "google", "jira_search", {"jql": "x"})
    assert r.status_code == 403
    time.sleep(0.1)
    assert atl.calls == []


def test_execute_unknown_or_ungranted_tool(env, atl):
    r = execute(env, "alice@example.com", "google", "jira_delete_project", {})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_tool"
    r = execute(env, "dave@example.com", "smallco", "jira_add_comment",
                {"issue_key": "SC-1", "body": "hi"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "tool_not_granted"
    time.sleep(0.1)
    assert atl.calls == []


def test_execute_errors(env, atl):
    r = execute(env, "alice@example.com", "google", "jira_search", {"jql": 1})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_arguments"
    r = env.http.post(f"{env.url}/tools/google/jira_search/execute", data="{oops",
                      headers=auth(env, "alice@example.com"))
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "bad_json"
    r = execute(env, "alice@example.com", "google", "jira_get_issue", {"issue_key": "GOOG-77"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "upstream_not_found"
    atl.fault("google", status=503)
    r = execute(env, "alice@example.com", "google", "jira_get_issue", {"issue_key": "GOOG-1"})
    assert r.status_code == 502
    assert r.json()["error"]["code"] == "upstream_unavailable"
    r = env.http.post(f"{env.url}/tools/google/jira_search", json={},
                      headers=auth(env, "alice@example.com"))
    assert r.status_code == 404
    r = env.http.post(f"{env.url}/tools/google/jira_search/execute", json={})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_execute_write_tool(env, atl):
    r = execute(env, "bob@example.com", "microsoft", "jira_add_comment",
                {"issue_key": "MS-2", "body": "From the OpenAPI side"})
    assert r.status_code == 200
    assert r.json()["issue_key"] == "MS-2"
    issue = atl.issue("microsoft", "MS-2")
    assert issue["comments"][-1]["body"]["content"][0]["content"][0]["text"] == \
        "From the OpenAPI side"


def test_get_only_endpoints(env):
    r = env.http.post(f"{env.url}/tools", json={}, headers=auth(env, "alice@example.com"))
    assert r.status_code == 405
    r = env.http.get(f"{env.url}/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
