"""The forwarder as an OAuth 2.0 protected resource (MCP authorization,
issue 15), end to end with the real broker and the harness's authorization
server (test/harness/oidc.py):

- RFC 9728 metadata at /.well-known/oauth-protected-resource[/mcp];
- the 401 challenge: resource_metadata and scope, error="invalid_token"
  only when a token was sent;
- RFC 8707 audiences: the broker accepts a token for this forwarder's
  resource (or oidc_audience) and refuses one for any other audience, and
  refuses a forwarder naming a resource it does not list;
- the official MCP Python SDK's OAuth client, headless: discovery, dynamic
  registration, authorization code + PKCE, token, then tools/list; and the
  operator-registered client case (an IdP without registration).
"""

import asyncio
import urllib.parse

import httpx2
import pytest
import requests
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (AuthorizationCodeResult, OAuthClientInformationFull,
                             OAuthClientMetadata)

from harness.product import DEMO_TOOLS
from harness.proc import free_port

EXPECTED = DEMO_TOOLS     # harness/product.py

WELL_KNOWN = "/.well-known/oauth-protected-resource"
REDIRECT = "http://127.0.0.1:33418/callback"
OTHER_RESOURCE = "http://127.0.0.1:9/mcp"      # another forwarder's


@pytest.fixture(scope="module")
def port():
    return free_port()


@pytest.fixture(scope="module")
def resource(port):
    return f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def broker(tg, resource):
    b = tg.start_broker(name="oauth-broker",
                        oidc_resources=f"{resource},{OTHER_RESOURCE}")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def fwd(tg, broker, port, resource, stack):
    f = tg.start_forwarder(broker, name="oauth-forwarder", port=port,
                           resource_url=resource,
                           authorization_servers=stack.oidc.issuer)
    yield f
    f.stop()
    assert f.returncode == 0, f.log_tail()


@pytest.fixture(scope="module")
def plain_fwd(tg, broker):
    """A forwarder without resource_url: no metadata, only oidc_audience."""
    f = tg.start_forwarder(broker, name="oauth-plain-forwarder")
    yield f
    f.stop()
    assert f.returncode == 0, f.log_tail()


def tools_list(url, token):
    return requests.post(url + "/mcp", timeout=15, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25"})


# ---- RFC 9728 metadata ----------------------------------------------------------

@pytest.mark.parametrize("path", [WELL_KNOWN + "/mcp", WELL_KNOWN])
def test_protected_resource_metadata(fwd, resource, stack, path):
    r = requests.get(fwd.url + path, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.json() == {
        "resource": resource,
        "authorization_servers": [stack.oidc.issuer],
        "scopes_supported": ["openid", "email"],
        "bearer_methods_supported": ["header"],
        "resource_name": "tenantgate",
    }


def test_metadata_elsewhere_or_unconfigured_is_a_json_404(fwd, plain_fwd):
    r = requests.get(fwd.url + WELL_KNOWN + "/other", timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    for path in (WELL_KNOWN, WELL_KNOWN + "/mcp"):
        r = requests.get(plain_fwd.url + path, timeout=10)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "oauth_not_configured"


# ---- the 401 challenge ------------------------------------------------------------

def test_401_without_token_points_to_the_metadata(fwd, port):
    r = requests.post(fwd.url + "/mcp", timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        'Bearer realm="tenantgate", resource_metadata="http://127.0.0.1:'
        f'{port}{WELL_KNOWN}/mcp", scope="openid email"')
    assert r.json()["error"]["data"]["code"] == "unauthenticated"
    # the OpenAPI side says the same
    r = requests.get(fwd.url + "/tools", timeout=10)
    assert r.status_code == 401
    assert "resource_metadata=" in r.headers["WWW-Authenticate"]
    assert "error=" not in r.headers["WWW-Authenticate"]


def test_401_with_a_refused_token_says_invalid_token(fwd, tg, port):
    bad = tg.user_token("bob@example.com", aud="someone-else")
    r = tools_list(fwd.url, bad)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        'Bearer realm="tenantgate", resource_metadata="http://127.0.0.1:'
        f'{port}{WELL_KNOWN}/mcp", scope="openid email", '
        'error="invalid_token", error_description="bad_audience"')


def test_401_without_resource_url_keeps_the_plain_challenge(plain_fwd):
    r = requests.post(plain_fwd.url + "/mcp", timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="tenantgate"'


# ---- RFC 8707 audiences -------------------------------------------------------------

def names(r):
    assert r.status_code == 200, r.text
    return {t["name"] for t in r.json()["result"]["tools"]}


def test_token_for_this_resource_is_accepted(fwd, tg, resource):
    tok = tg.user_token("bob@example.com", aud=resource)
    assert names(tools_list(fwd.url, tok)) == EXPECTED["bob@example.com"]
    # an aud list naming us is fine too
    tok = tg.user_token("alice@example.com", aud=["x", resource])
    assert names(tools_list(fwd.url, tok)) == EXPECTED["alice@example.com"]


def test_token_for_oidc_audience_is_still_accepted(fwd, tg):
    tok = tg.user_token("dave@example.com")     # aud = oidc_audience
    assert names(tools_list(fwd.url, tok)) == EXPECTED["dave@example.com"]


@pytest.mark.parametrize("aud", [OTHER_RESOURCE, "some-other-app",
                                 "http://127.0.0.1:1/mcp"])
def test_token_for_another_audience_is_refused(fwd, tg, aud):
    r = tools_list(fwd.url, tg.user_token("bob@example.com", aud=aud))
    assert r.status_code == 401
    assert r.json()["error"]["data"]["code"] == "bad_audience"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_forwarder_without_resource_refuses_resource_tokens(plain_fwd, tg,
                                                            resource):
    """A token bound to one forwarder's resource is no good at another."""
    r = tools_list(plain_fwd.url, tg.user_token("bob@example.com", aud=resource))
    assert r.status_code == 401
    assert r.json()["error"]["data"]["code"] == "bad_audience"


def test_broker_refuses_a_resource_it_does_not_list(tg, broker, resource):
    def grants(**body):
        return requests.post(broker.url + "/v1/grants", timeout=10, json={
            "assertion": tg.user_token("bob@example.com", aud=resource),
            **body}, headers={"Authorization": f"Bearer {tg.caller_secret}"})
    r = grants(resource="http://evil.example/mcp")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_resource"
    assert grants(resource=5).json()["error"]["code"] == "bad_field"
    assert grants(resource=resource).status_code == 200
    # the resource is not implied: without it, only oidc_audience counts
    r = grants()
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_audience"


def test_forwarder_naming_an_unlisted_resource_gets_a_clear_502(tg, broker,
                                                                stack):
    f = tg.start_forwarder(broker, name="oauth-unlisted-forwarder",
                           resource_url="http://127.0.0.1:7/mcp",
                           authorization_servers=stack.oidc.issuer)
    try:
        r = tools_list(f.url, tg.user_token("bob@example.com"))
        assert r.status_code == 502
        assert "oidc_resources" in r.json()["error"]["message"]
    finally:
        f.stop()


@pytest.mark.parametrize("bad", [
    {"resource_url": "ftp://x/mcp"},
    {"resource_url": "http://127.0.0.1:1/mcp#frag"},
    {"resource_url": 'http://127.0.0.1:1/m"cp'},
    {"resource_url": "http://127.0.0.1:1/mcp", "authorization_servers": None},
    {"scopes_supported": 'openid,"email'},
])
def test_bad_oauth_settings_are_refused_at_start(tg, broker, tmp, bad):
    import subprocess

    from harness.product import binary
    cfg = {"resource_url": "http://127.0.0.1:1/mcp",
           "authorization_servers": "http://127.0.0.1:2"}
    cfg.update(bad)
    conf = tmp / "f.conf"
    conf.write_text(tg.forwarder_config(free_port(), broker, **cfg))
    r = subprocess.run([binary("tenantgate-forwarder"), "-c", str(conf),
                        "--check"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert any(k in r.stderr for k in ("resource_url", "authorization_servers",
                                       "scopes_supported")), r.stderr


# ---- the official SDK's OAuth client ----------------------------------------------------

class MemoryStorage:
    def __init__(self, client_info=None):
        self.tokens, self.client_info = None, client_info

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, info):
        self.client_info = info


class HeadlessLogin:
    """The browser part: follow the authorization URL as `email` (the demo
    AS auto-approves a login_hint) and hand the redirect's code back."""

    def __init__(self, email):
        self.email, self.result, self.urls = email, None, []

    async def redirect(self, url):
        self.urls.append(url)
        async with httpx2.AsyncClient(timeout=10) as c:
            r = await c.get(url + "&" + urllib.parse.urlencode(
                {"login_hint": self.email}))
        assert r.status_code == 302, r.text
        loc = urllib.parse.urlsplit(r.headers["Location"])
        assert loc.geturl().startswith(REDIRECT)
        q = dict(urllib.parse.parse_qsl(loc.query))
        assert "error" not in q, q
        self.result = AuthorizationCodeResult(code=q["code"], state=q.get("state"),
                                              iss=q.get("iss"))

    async def callback(self):
        return self.result


def sdk_client(fwd, email, mode, client_info=None):
    login = HeadlessLogin(email)
    storage = MemoryStorage(client_info)
    provider = OAuthClientProvider(
        server_url=f"{fwd.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="tenantgate test", redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"], token_endpoint_auth_method="none"),
        storage=storage, redirect_handler=login.redirect,
        callback_handler=login.callback)
    hc = httpx2.AsyncClient(auth=provider, timeout=30)
    return (Client(streamable_http_client(f"{fwd.url}/mcp", http_client=hc),
                   mode=mode), provider, login, storage)


def run_sdk(fwd, email, mode, client_info=None):
    async def go():
        c, provider, login, storage = sdk_client(fwd, email, mode, client_info)
        async with c:
            tools = (await c.list_tools()).tools
        return {t.name for t in tools}, provider, login, storage
    return asyncio.run(go())


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("email", ["bob@example.com", "dave@example.com",
                                   "carol@example.com"])
def test_sdk_oauth_flow_end_to_end(fwd, stack, resource, email, mode):
    seen = len(stack.oidc.issued)
    names_, provider, login, storage = run_sdk(fwd, email, mode)
    assert names_ == EXPECTED[email]
    ctx = provider.context
    # discovery went the RFC 9728 way, to our issuer
    assert str(ctx.protected_resource_metadata.resource) == resource
    assert ctx.auth_server_url == stack.oidc.issuer
    assert str(ctx.oauth_metadata.issuer) == stack.oidc.issuer
    # dynamic registration, then PKCE S256 with the resource and our scope
    assert storage.client_info.client_id.startswith("dcr-")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(login.urls[0]).query))
    assert q["code_challenge_method"] == "S256"
    assert q["resource"] == resource
    assert q["scope"] == "openid email"
    # one token, minted for this forwarder
    assert stack.oidc.issued[seen:] == [
        (storage.client_info.client_id, email, resource)]


def test_sdk_with_an_operator_registered_client_and_no_dcr(fwd, stack,
                                                           resource):
    """Entra ID / Okta: no registration endpoint; the operator registers a
    client and gives its ID to the MCP client."""
    stack.oidc.add_client("tenantgate-claude", [REDIRECT])
    info = OAuthClientInformationFull(
        client_id="tenantgate-claude", redirect_uris=[REDIRECT],
        token_endpoint_auth_method="none")
    stack.oidc.registration = False
    try:
        assert "registration_endpoint" not in requests.get(
            stack.oidc.issuer + "/.well-known/oauth-authorization-server",
            timeout=10).json()
        names_, _, _, storage = run_sdk(fwd, "alice@example.com", "auto", info)
    finally:
        stack.oidc.registration = True
    assert names_ == EXPECTED["alice@example.com"]
    assert stack.oidc.issued[-1] == ("tenantgate-claude", "alice@example.com",
                                     resource)


# ---- the demo authorization server's own rules ----------------------------------------

def pkce():
    import base64
    import hashlib
    import secrets
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest())
    return v, c.rstrip(b"=").decode()


def authorize(oidc, client_id, challenge, method="S256", redirect=REDIRECT,
              login="bob@example.com", resource=None):
    q = {"response_type": "code", "client_id": client_id,
         "redirect_uri": redirect, "code_challenge": challenge,
         "code_challenge_method": method, "state": "s1",
         "scope": "openid email"}
    if login:
        q["login_hint"] = login
    if resource:
        q["resource"] = resource
    return requests.get(oidc.issuer + "/authorize", params=q, timeout=10,
                        allow_redirects=False)


def code_of(r):
    assert r.status_code == 302, r.text
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))
    assert q["state"] == "s1"
    return q


@pytest.fixture
def client_id(stack):
    r = requests.post(stack.oidc.issuer + "/register", timeout=10, json={
        "client_name": "t", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"]})
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def token(oidc, **form):
    return requests.post(oidc.issuer + "/token", data=form, timeout=10)


def test_as_code_pkce_refresh_and_audience(stack, fwd, client_id, resource):
    oidc = stack.oidc
    v, c = pkce()
    q = code_of(authorize(oidc, client_id, c, resource=resource))
    assert q["iss"] == oidc.issuer                      # RFC 9207
    base = {"grant_type": "authorization_code", "code": q["code"],
            "client_id": client_id, "redirect_uri": REDIRECT}
    r = token(oidc, **base, code_verifier="x" * 43)     # wrong verifier
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # the failed try used the code up: single use
    assert token(oidc, **base, code_verifier=v).json()["error"] == "invalid_grant"
    q = code_of(authorize(oidc, client_id, c, resource=resource))
    r = token(oidc, **{**base, "code": q["code"]}, code_verifier=v)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    t = r.json()
    assert t["token_type"] == "Bearer" and t["scope"] == "openid email"
    assert names(tools_list(fwd.url, t["access_token"])) == EXPECTED["bob@example.com"]
    r = token(oidc, grant_type="refresh_token", refresh_token=t["refresh_token"],
              client_id=client_id)
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert names(tools_list(fwd.url, t2["access_token"])) == EXPECTED["bob@example.com"]
    # refresh tokens rotate: the old one is spent
    r = token(oidc, grant_type="refresh_token", refresh_token=t["refresh_token"],
              client_id=client_id)
    assert r.json()["error"] == "invalid_grant"


def test_as_refuses_plain_pkce_missing_pkce_and_bad_resource(stack, client_id):
    oidc = stack.oidc
    _, c = pkce()
    q = code_of(authorize(oidc, client_id, c, method="plain"))
    assert q["error"] == "invalid_request" and "S256" in q["error_description"]
    q = code_of(authorize(oidc, client_id, ""))
    assert q["error"] == "invalid_request"
    q = code_of(authorize(oidc, client_id, c, resource="http://x/mcp#frag"))
    assert q["error"] == "invalid_target"


def test_as_never_redirects_to_an_unregistered_uri(stack, client_id):
    _, c = pkce()
    r = authorize(stack.oidc, client_id, c, redirect="https://evil.example/cb")
    assert r.status_code == 400 and "Location" not in r.headers
    r = authorize(stack.oidc, "no-such-client", c)
    assert r.status_code == 400 and "Location" not in r.headers


def test_as_login_page_lists_users_without_a_login_hint(stack, client_id):
    _, c = pkce()
    old = stack.oidc.users
    stack.oidc.users = ["alice@example.com", "bob@example.com"]
    try:
        r = authorize(stack.oidc, client_id, c, login=None)
        assert r.status_code == 200
        assert "login_hint=alice%40example.com" in r.text
        assert "login_hint=bob%40example.com" in r.text
        q = code_of(authorize(stack.oidc, client_id, c, login="mallory@example.com"))
        assert q["error"] == "access_denied"
    finally:
        stack.oidc.users = old


def test_as_registration_validates_metadata(stack):
    def reg(body):
        return requests.post(stack.oidc.issuer + "/register", json=body, timeout=10)
    assert reg({"redirect_uris": []}).json()["error"] == "invalid_redirect_uri"
    assert reg({"redirect_uris": ["http://evil.example/cb"]}).json()["error"] == \
        "invalid_redirect_uri"
    assert reg({"redirect_uris": [REDIRECT], "token_endpoint_auth_method":
                "private_key_jwt"}).json()["error"] == "invalid_client_metadata"
    r = reg({"redirect_uris": ["https://claude.ai/api/mcp/auth_callback"],
             "token_endpoint_auth_method": "client_secret_post"})
    assert r.status_code == 201 and r.json()["client_secret"]
