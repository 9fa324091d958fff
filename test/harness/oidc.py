"""OIDC issuer stand-in and the identity tokens tests present to the broker.

OidcIssuer serves /.well-known/openid-configuration and /jwks.json with an
RSA key (kid rs1, RS256) and an EC P-256 key (kid ec1, ES256), and mints
access tokens with them.  The private/public PEMs are exposed so tests can
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
import threading
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

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


class _Handler(JsonHandler):
    def dispatch(self):
        path, _ = self._split()
        o = self.standin
        if self.command != "GET":
            self.send_json(405, {"error": "method not allowed"})
        elif path == "/.well-known/openid-configuration":
            self.send_json(200, o.discovery())
        elif path == "/jwks.json":
            with o._lock:
                o.jwks_requests += 1
            self.send_json(200, o.jwks(),
                           headers={"Cache-Control": "max-age=300"})
        else:
            self.send_json(404, {"error": "not found"})


class OidcIssuer(StandIn):
    """An IdP: discovery + JWKS, and mint() for RS256/ES256 tokens."""

    name = "oidc"
    Handler = _Handler
    DEFAULT_KID = {"RS256": "rs1", "ES256": "ec1"}

    def __init__(self, port=None, audience="tenantgate"):
        super().__init__(port)
        self.audience = audience
        self._lock = threading.Lock()
        self.jwks_requests = 0
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
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

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
