"""Kubernetes TokenReview stand-in for OpenBao's Kubernetes auth method.

Serves POST /apis/authentication.k8s.io/v1/tokenreviews and mints the
service-account JWTs it will vouch for.  What OpenBao needs (DESIGN.md,
verified facts): the JWT carries iss, sub, iat, nbf, exp and the
kubernetes.io claim; the review answers 201 with status.authenticated,
status.user.username = system:serviceaccount:NS:NAME and status.user.uid
equal to the JWT's service-account uid.  OpenBao does not check the JWT
signature; this stand-in does, with its own RSA key.
"""

import hashlib
import os
import threading
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .httpserver import JsonHandler, StandIn

REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
K8S_ISSUER = "https://kubernetes.default.svc.cluster.local"


def sa_uid(namespace, name):
    """The stable uid a service account gets by default."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"k8s-sa:{namespace}/{name}"))


def _fingerprint(token):
    return hashlib.sha256(token.encode()).hexdigest()


class _Handler(JsonHandler):
    def dispatch(self):
        path, _ = self._split()
        if self.command != "POST" or path != REVIEW_PATH:
            self.send_json(404, {"kind": "Status", "apiVersion": "v1",
                                 "status": "Failure", "reason": "NotFound",
                                 "code": 404})
            return
        body = self.read_json() or {}
        status, answer = self.standin._review(body)
        self.send_json(status, answer)


class TokenReview(StandIn):
    """The stand-in.  .url is the kubernetes_host to give OpenBao."""

    name = "tokenreview"
    Handler = _Handler

    def __init__(self, port=None, issuer=K8S_ISSUER):
        super().__init__(port)
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537,
                                             key_size=2048)
        self.kid = "sa-" + os.urandom(4).hex()
        self._lock = threading.Lock()
        self._revoked = set()       # sha256 of revoked tokens
        self._fail = []             # statuses for the next reviews
        self.reviews = []           # one dict per review, newest last
        self._token_files = 0

    # ---- tokens ----------------------------------------------------------

    @property
    def public_pem(self):
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)

    def mint_sa_token(self, namespace, name, uid=None, audiences=None,
                      ttl=3600, **claims):
        """A service-account JWT for NS/NAME (RS256, this stand-in's key).

        claims override or add top-level claims; a value None drops one
        (e.g. nbf=None to craft the token OpenBao calls 'not yet valid')."""
        now = int(time.time())
        uid = uid or sa_uid(namespace, name)
        payload = {
            "iss": self.issuer,
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "aud": list(audiences or [K8S_ISSUER]),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),   # two mints in one second differ
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": uid},
            },
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self._key, algorithm="RS256",
                          headers={"kid": self.kid})

    def revoke(self, token):
        """From now on the review answers authenticated=false for token."""
        with self._lock:
            self._revoked.add(_fingerprint(token))

    def fail_next(self, n=1, status=500):
        """The next n reviews answer HTTP status (API server trouble)."""
        with self._lock:
            self._fail += [status] * n

    def write_token_file(self, token, path=None):
        """Write token the way kubelet projects it; atomic replace, 0600.

        Default path: a new file in this stand-in's temp dir."""
        if path is None:
            with self._lock:
                self._token_files += 1
                n = self._token_files
            path = os.path.join(self.dir, f"sa-token-{n}")
        tmp = f"{path}.tmp{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        os.replace(tmp, path)
        return path

    # ---- bookkeeping -----------------------------------------------------

    @property
    def count(self):
        with self._lock:
            return len(self.reviews)

    def reset(self):
        with self._lock:
            self.reviews.clear()
            self._fail.clear()
            self._revoked.clear()

    # ---- the review ------------------------------------------------------

    def _review(self, body):
        spec = body.get("spec") or {}
        token = spec.get("token") or ""
        wanted = spec.get("audiences") or []
        with self._lock:
            fail = self._fail.pop(0) if self._fail else None
        if fail is not None:
            self._note(None, False, f"injected HTTP {fail}")
            return fail, {"kind": "Status", "apiVersion": "v1",
                          "status": "Failure", "message": "injected failure",
                          "code": fail}
        status = {"authenticated": False}
        claims = None
        try:
            claims = jwt.decode(token, self._key.public_key(),
                                algorithms=["RS256"],
                                options={"verify_aud": False,
                                         "require": ["exp", "sub"]},
                                issuer=self.issuer)
            with self._lock:
                revoked = _fingerprint(token) in self._revoked
            k8s = claims.get("kubernetes.io") or {}
            sa = k8s.get("serviceaccount") or {}
            ns, name = k8s.get("namespace"), sa.get("name")
            auds = claims.get("aud") or []
            auds = [auds] if isinstance(auds, str) else list(auds)
            if revoked:
                raise jwt.InvalidTokenError("token has been invalidated")
            if not ns or not name or \
                    claims["sub"] != f"system:serviceaccount:{ns}:{name}":
                raise jwt.InvalidTokenError("not a service account token")
            if wanted:
                auds = [a for a in auds if a in wanted]
                if not auds:
                    raise jwt.InvalidTokenError(
                        "token audiences are invalid for the target audiences")
            status = {
                "authenticated": True,
                "user": {
                    "username": claims["sub"],
                    "uid": sa.get("uid", ""),
                    "groups": ["system:serviceaccounts",
                               f"system:serviceaccounts:{ns}",
                               "system:authenticated"],
                    "extra": {},
                },
                "audiences": auds,
            }
        except jwt.PyJWTError as e:
            status = {"authenticated": False,
                      "error": f"[invalid bearer token, {e}]"}
        self._note(claims, status["authenticated"], status.get("error"))
        return 201, {"kind": "TokenReview",
                     "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"creationTimestamp": None},
                     "spec": {"token": "", "audiences": wanted},
                     "status": status}

    def _note(self, claims, ok, error):
        sub = (claims or {}).get("sub")
        with self._lock:
            self.reviews.append({"sub": sub, "authenticated": ok,
                                 "error": error, "at": time.time()})
        self._log(f"review sub={sub} authenticated={ok}"
                  + (f" error={error}" if error else ""))

