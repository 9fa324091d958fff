"""OIDC issuer stand-in and the identity tokens tests present to the broker.

OidcIssuer serves /.well-known/openid-configuration and /jwks.json with an
RSA key (kid rs1, RS256) and an EC P-256 key (kid ec1, ES256), and mints
access tokens with them.

It is also a small OAuth 2.1 authorization server, as the MCP authorization
spec expects of one (enough for the official SDKs and Claude to log in):
RFC 8414 metadata (/.well-known/oauth-authorization-server, same document
as openid-configuration), dynamic client registration (RFC 7591, POST
/register; off with registration=False, like Entra ID and Okta, where the
operator registers a client with add_client()), the authorization code
grant with PKCE S256 only (GET /authorize, POST /token), RFC 8707 resource
indicators (the token's aud is the resource asked for, else `audience`),
RFC 9207 `iss` in the redirect, and refresh tokens.  Login auto-approves:
`login_hint=<email>` picks the user; without it /authorize answers a page
listing the demo users (`users`) as links, for a person with a browser.  The private/public PEMs are exposed so tests can
craft attacks; encode_raw() builds any token byte by byte (PyJWT refuses
to HMAC with a PEM key, so the algorithm-confusion token needs it).

mint_openwebui() builds Open WebUI's forwarded-user JWT exactly as
open_webui/utils/headers.py does: HS256 over sub, email, name, role,
iss=open-webui, iat, exp; no aud, no nbf.
"""

import base64
import hashlib
import hmac
import json
import secrets as pysecrets
import threading
import time
import urllib.parse
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import secrets as tg_secrets
from .httpserver import JsonHandler, StandIn

OPENWEBUI_ISSUER = "open-webui"
OPENWEBUI_HEADER = "X-OpenWebUI-User-Jwt"


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_raw(header, payload, sign=None):
    """header.payload.signature with sign(signing_input: bytes) -> bytes;
    sign=None leaves the signature empty (alg none)."""
    h = b64url(json.dumps(header, separators=(",", ":")))
    p = b64url(json.dumps(payload, separators=(",", ":")))
    signing_input = f"{h}.{p}".encode()
    sig = b64url(sign(signing_input)) if sign else ""
    return f"{h}.{p}.{sig}"


def hs256_raw(header, payload, key):
    """HS256 with any bytes as key, PEM text included (confusion attack)."""
    if isinstance(key, str):
        key = key.encode()
    header = {"alg": "HS256", "typ": "JWT", **header}
    return encode_raw(header, payload,
                      lambda m: hmac.new(key, m, hashlib.sha256).digest())


def mint_openwebui(email, secret, ttl=300, **claims):
    """Open WebUI's X-OpenWebUI-User-Jwt for a user (HS256 with secret).

    sub defaults to a stable uuid for the email (Open WebUI's user id),
    name to the email's local part; claims override, None drops one."""
    now = int(time.time())
    payload = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"owui:{email}")),
        "email": email,
        "name": email.split("@", 1)[0].replace(".", " ").title(),
        "role": "user",
        "iss": OPENWEBUI_ISSUER,
        "iat": now,
        "exp": now + ttl,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256")


def _pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


def _jwk(kid, alg, key):
    pub = key.public_key()
    if alg.startswith("RS"):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(pub))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(pub))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


class OAuthError(Exception):
    """An RFC 6749 error: (status, error, description)."""

    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def _s256(verifier):
    return b64url(hashlib.sha256(verifier.encode()).digest())


_VERIFIER_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-._~")


class _Handler(JsonHandler):
    GETS = ("/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server", "/jwks.json",
            "/authorize")
    POSTS = ("/register", "/token")

    def dispatch(self):
        path, query = self._split()
        o = self.standin
        allowed = self.GETS if self.command in ("GET", "HEAD") else \
            self.POSTS if self.command == "POST" else ()
        if path not in self.GETS + self.POSTS:
            self.send_json(404, {"error": "not found"})
        elif path not in allowed:
            self.send_json(405, {"error": "method not allowed"})
        elif path in ("/.well-known/openid-configuration",
                      "/.well-known/oauth-authorization-server"):
            self.send_json(200, o.discovery())
        elif path == "/jwks.json":
            with o._lock:
                o.jwks_requests += 1
            self.send_json(200, o.jwks(),
                           headers={"Cache-Control": "max-age=300"})
        elif path == "/authorize":
            self._authorize(query)
        elif path == "/register":
            self._register()
        else:
            self._token()

    # ---- RFC 7591 --------------------------------------------------------

    def _register(self):
        o = self.standin
        if not o.registration:
            self.send_json(404, {"error": "not found"})
            return
        body = self.read_json()
        try:
            client = o.register(body)
        except OAuthError as e:
            self.send_json(e.status, {"error": e.error,
                                      "error_description": e.description})
            return
        self.send_json(201, client, headers={"Cache-Control": "no-store"})

    # ---- authorization endpoint -------------------------------------------

    def _send_page(self, status, html, headers=None):
        body = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _redirect(self, uri, params):
        sep = "&" if urllib.parse.urlsplit(uri).query else "?"
        self.send_response(302)
        self.send_header("Location", uri + sep + urllib.parse.urlencode(params))
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _authorize(self, q):
        o = self.standin
        q = {k: (v if isinstance(v, str) else v[0]) for k, v in q.items()}
        # Without a known client and its exact redirect URI, errors go to
        # the user, never to an unchecked URI (RFC 6749 section 4.1.2.1).
        client = o.client(q.get("client_id", ""))
        uri = q.get("redirect_uri")
        if client is None:
            self._send_page(400, "<p>unknown client_id</p>")
            return
        if uri is None and len(client["redirect_uris"]) == 1:
            uri = client["redirect_uris"][0]
        if uri not in client["redirect_uris"]:
            self._send_page(400, "<p>redirect_uri is not registered for this"
                                 " client</p>")
            return
        state = {"state": q["state"]} if "state" in q else {}
        try:
            email = o.authorize_checks(q)
        except OAuthError as e:
            self._redirect(uri, {"error": e.error,
                                 "error_description": e.description,
                                 **state, "iss": o.issuer})
            return
        if email is None:
            self._send_page(200, o.login_page(q))
            return
        code = o.issue_code(q, uri, email)
        self._redirect(uri, {"code": code, **state, "iss": o.issuer})

    # ---- token endpoint ----------------------------------------------------

    def _token(self):
        o = self.standin
        ctype = self.headers.get("Content-Type", "")
        raw = self.read_body().decode("utf-8", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()} \
            if ctype.startswith("application/x-www-form-urlencoded") else None
        try:
            if form is None:
                raise OAuthError("invalid_request", "the token request must be "
                                 "application/x-www-form-urlencoded")
            out = o.token(form, self.headers.get("Authorization"))
        except OAuthError as e:
            self.send_json(e.status, {"error": e.error,
                                      "error_description": e.description},
                           headers={"Cache-Control": "no-store"})
            return
        self.send_json(200, out, headers={"Cache-Control": "no-store",
                                          "Pragma": "no-cache"})


class OidcIssuer(StandIn):
    """An IdP: discovery + JWKS, and mint() for RS256/ES256 tokens."""

    name = "oidc"
    Handler = _Handler
    DEFAULT_KID = {"RS256": "rs1", "ES256": "ec1"}

    CODE_TTL = 60
    TOKEN_TTL = 3600
    SCOPES = ["openid", "email", "profile"]

    def __init__(self, port=None, audience="tenantgate", users=None,
                 registration=True, token_alg="RS256"):
        super().__init__(port)
        self.audience = audience
        self.users = users            # None = any email may log in
        self.registration = registration
        self.token_alg = token_alg
        self._lock = threading.Lock()
        self.jwks_requests = 0
        self.clients = {}             # client_id -> registration record
        self.codes = {}               # code -> what it was issued for
        self.refresh_tokens = {}      # token -> (client_id, email, scope, aud)
        self.issued = []              # (client_id, email, aud) per access token
        self.keys = {}          # kid -> (alg, private key), published in JWKS
        self.add_key("rs1", "RS256")
        self.add_key("ec1", "ES256")
        rsa_key, ec_key = self.keys["rs1"][1], self.keys["ec1"][1]
        self.rsa_private_pem = _pem_private(rsa_key)
        self.rsa_public_pem = _pem_public(rsa_key)
        self.ec_private_pem = _pem_private(ec_key)
        self.ec_public_pem = _pem_public(ec_key)

    @property
    def issuer(self):
        return self.url

    @property
    def jwks_uri(self):
        return f"{self.url}/jwks.json"

    @property
    def discovery_url(self):
        return f"{self.url}/.well-known/openid-configuration"

    def discovery(self):
        """OIDC discovery and RFC 8414 metadata (one document for both)."""
        doc = {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "none", "client_secret_post", "client_secret_basic"],
            "scopes_supported": list(self.SCOPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": False,
        }
        if self.registration:
            doc["registration_endpoint"] = f"{self.url}/register"
        return doc

    # ---- clients ----------------------------------------------------------

    def add_client(self, client_id, redirect_uris, secret=None,
                   name="operator-registered"):
        """A client the operator registered by hand (the Entra ID / Okta
        case: no dynamic registration)."""
        rec = {"client_id": client_id, "client_name": name,
               "redirect_uris": list(redirect_uris),
               "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"],
               "token_endpoint_auth_method":
                   "client_secret_post" if secret else "none"}
        if secret:
            rec["client_secret"] = tg_secrets.register(secret)
        with self._lock:
            self.clients[client_id] = rec
        return dict(rec)

    def client(self, client_id):
        with self._lock:
            rec = self.clients.get(client_id)
        return dict(rec) if rec else None

    def register(self, meta):
        """RFC 7591 section 3: validate the client metadata, return the
        client information response."""
        if not isinstance(meta, dict):
            raise OAuthError("invalid_client_metadata",
                             "the body must be a JSON object")
        uris = meta.get("redirect_uris")
        if not isinstance(uris, list) or not uris or not all(
                isinstance(u, str) for u in uris):
            raise OAuthError("invalid_redirect_uri",
                             "redirect_uris must be a non-empty list of URIs")
        for u in uris:
            p = urllib.parse.urlsplit(u)
            loopback = p.scheme == "http" and p.hostname in (
                "127.0.0.1", "localhost", "::1")
            if p.fragment or not p.scheme or not (
                    loopback or p.scheme == "https" or
                    p.scheme not in ("http", "javascript", "data")):
                raise OAuthError("invalid_redirect_uri",
                                 f"redirect URI {u[:100]} is not allowed: "
                                 "https, a loopback http URL or an app's "
                                 "own scheme")
        method = meta.get("token_endpoint_auth_method", "client_secret_basic")
        if method not in ("none", "client_secret_post", "client_secret_basic"):
            raise OAuthError("invalid_client_metadata",
                             f"token_endpoint_auth_method {method!r} is not"
                             " supported")
        grants = meta.get("grant_types") or ["authorization_code"]
        if not set(grants) <= {"authorization_code", "refresh_token"}:
            raise OAuthError("invalid_client_metadata",
                             "grant_types: authorization_code and "
                             "refresh_token only")
        rec = {k: v for k, v in meta.items()
               if k in ("client_name", "client_uri", "logo_uri", "scope",
                        "contacts", "software_id", "software_version")}
        rec.update({
            "client_id": "dcr-" + uuid.uuid4().hex,
            "client_id_issued_at": int(time.time()),
            "redirect_uris": uris,
            "grant_types": grants,
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
        })
        if method != "none":
            rec["client_secret"] = tg_secrets.register(
                "dcrsecret-" + pysecrets.token_urlsafe(24))
            rec["client_secret_expires_at"] = 0
        with self._lock:
            self.clients[rec["client_id"]] = rec
        return dict(rec)

    def _client_auth(self, form, authorization):
        """RFC 6749 section 2.3: the client, authenticated if confidential."""
        cid, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:]).decode()
                cid, _, secret = raw.partition(":")
                cid = urllib.parse.unquote(cid)
                secret = urllib.parse.unquote(secret)
            except ValueError:
                raise OAuthError("invalid_client", "bad Basic credentials", 401)
        rec = self.client(cid or "")
        if rec is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        want = rec.get("client_secret")
        if want is not None and not (secret and hmac.compare_digest(
                secret.encode(), want.encode())):
            raise OAuthError("invalid_client", "client authentication failed",
                             401)
        return rec

    # ---- authorization code flow ----------------------------------------------

    @staticmethod
    def _resource_ok(resource):
        p = urllib.parse.urlsplit(resource)
        return p.scheme in ("http", "https") and p.netloc and not p.fragment

    def authorize_checks(self, q):
        """The login's email, None to show the login page; OAuthError for
        an error the client is told about (RFC 6749 section 4.1.2.1)."""
        if q.get("response_type") != "code":
            raise OAuthError("unsupported_response_type",
                             "only response_type=code")
        if not q.get("code_challenge"):
            raise OAuthError("invalid_request", "PKCE is required "
                             "(code_challenge with S256)")
        if q.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request",
                             "code_challenge_method must be S256")
        if "resource" in q and not self._resource_ok(q["resource"]):
            raise OAuthError("invalid_target", "resource must be an absolute"
                             " URI without a fragment (RFC 8707)")
        unknown = set((q.get("scope") or "").split()) - set(self.SCOPES)
        if unknown:
            raise OAuthError("invalid_scope",
                             f"unknown scope {sorted(unknown)[0][:50]}")
        email = q.get("login_hint")
        if not email:
            return None
        if "@" not in email or (self.users is not None and
                                email not in self.users):
            raise OAuthError("access_denied", "no such user")
        return email

    def login_page(self, q):
        """Auto-approving login: one link per demo user."""
        import html
        users = sorted(self.users or [])
        items = "".join(
            f'<li><a href="/authorize?'
            f'{html.escape(urllib.parse.urlencode({**q, "login_hint": u}))}">'
            f'{html.escape(u)}</a></li>' for u in users)
        return ("<!doctype html><title>tenantgate demo login</title>"
                "<h1>Log in to the tenantgate demo as</h1>"
                f"<ul>{items or '<li>(add login_hint=EMAIL)</li>'}</ul>")

    def issue_code(self, q, redirect_uri, email):
        code = "code-" + pysecrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = {
                "client_id": q["client_id"], "redirect_uri": redirect_uri,
                "challenge": q["code_challenge"], "email": email,
                "scope": q.get("scope") or "openid email",
                "resource": q.get("resource"),
                "expires": time.time() + self.CODE_TTL}
        return code

    def token(self, form, authorization=None):
        """RFC 6749 section 4.1.3 / 6, with PKCE (RFC 7636) and RFC 8707."""
        grant = form.get("grant_type")
        rec = self._client_auth(form, authorization)
        if grant == "authorization_code":
            with self._lock:
                c = self.codes.pop(form.get("code", ""), None)  # single use
            if c is None or c["expires"] < time.time() or \
                    c["client_id"] != rec["client_id"]:
                raise OAuthError("invalid_grant", "unknown, used or expired code")
            if form.get("redirect_uri", c["redirect_uri"]) != c["redirect_uri"]:
                raise OAuthError("invalid_grant", "redirect_uri differs from the"
                                 " authorization request")
            v = form.get("code_verifier") or ""
            if not (43 <= len(v) <= 128 and set(v) <= _VERIFIER_CHARS) or \
                    not hmac.compare_digest(_s256(v), c["challenge"]):
                raise OAuthError("invalid_grant", "PKCE verification failed")
            email, scope = c["email"], c["scope"]
            resource = form.get("resource") or c["resource"]
            if c["resource"] and resource != c["resource"]:
                raise OAuthError("invalid_target", "resource differs from the"
                                 " authorization request")
        elif grant == "refresh_token":
            with self._lock:
                r = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if r is None or r[0] != rec["client_id"]:
                raise OAuthError("invalid_grant", "unknown refresh token")
            _, email, scope, resource = r
            if form.get("resource") and form["resource"] != resource:
                raise OAuthError("invalid_target", "resource differs")
        else:
            raise OAuthError("unsupported_grant_type",
                             "authorization_code or refresh_token")
        aud = resource or self.audience
        access = self.mint({"sub": "u-" + email.split("@")[0], "email": email,
                            "email_verified": True, "scope": scope,
                            "client_id": rec["client_id"],
                            "jti": uuid.uuid4().hex},
                           alg=self.token_alg, ttl=self.TOKEN_TTL, aud=aud,
                           headers={"typ": "at+jwt"})
        refresh = "rt-" + pysecrets.token_urlsafe(24)
        with self._lock:
            self.refresh_tokens[refresh] = (rec["client_id"], email, scope,
                                            resource)
            self.issued.append((rec["client_id"], email, aud))
        return {"access_token": access, "token_type": "Bearer",
                "expires_in": self.TOKEN_TTL, "scope": scope,
                "refresh_token": refresh}

    def add_key(self, kid, alg):
        """Generate and publish a new key (key rotation tests)."""
        if alg.startswith("RS"):
            key = rsa.generate_private_key(public_exponent=65537,
                                           key_size=2048)
        elif alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"unsupported alg {alg}")
        with self._lock:
            self.keys[kid] = (alg, key)
        return key

    def remove_key(self, kid):
        with self._lock:
            self.keys.pop(kid, None)

    def jwks(self):
        with self._lock:
            return {"keys": [_jwk(kid, alg, key)
                             for kid, (alg, key) in self.keys.items()]}

    def claims(self, claims=None, ttl=3600, **overrides):
        """The payload mint() signs (None values dropped)."""
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": self.audience,
                   "iat": now, "nbf": now, "exp": now + ttl}
        payload.update(claims or {})
        payload.update(overrides)
        return {k: v for k, v in payload.items() if v is not None}

    def mint(self, claims=None, alg="RS256", kid=None, headers=None,
             ttl=3600, **overrides):
        """A signed token.  iss/aud/iat/nbf/exp are filled in unless given
        (in claims or as keyword overrides); a value None drops the claim.
        kid picks the signing key (default rs1/ec1 by alg); headers are
        merged into the JOSE header (None drops one, e.g. {'kid': None})."""
        kid = kid or self.DEFAULT_KID.get(alg)
        with self._lock:
            key_alg, key = self.keys[kid]
        payload = self.claims(claims, ttl, **overrides)
        hdr = {"kid": kid, "typ": "JWT"}
        hdr.update(headers or {})
        hdr = {k: v for k, v in hdr.items() if v is not None}
        return jwt.encode(payload, key, algorithm=alg, headers=hdr)

    def mint_none(self, claims=None, **overrides):
        """alg: none, empty signature."""
        return encode_raw({"alg": "none", "typ": "JWT"},
                          self.claims(claims, **overrides))

    def mint_confused(self, claims=None, kid="rs1", **overrides):
        """HS256 whose HMAC key is the public PEM of kid: the classic
        algorithm-confusion token.  A verifier that takes alg from the
        token and the key from the kid accepts it."""
        pem = self.rsa_public_pem if kid == "rs1" else \
            _pem_public(self.keys[kid][1])
        return hs256_raw({"kid": kid}, self.claims(claims, **overrides), pem)

    mint_openwebui = staticmethod(mint_openwebui)
