"""common/vault.c against the real OpenBao, through test_vault_live.

The C tests (test/unit/test_vault_live.c) do the client side; this file
sets OpenBao up (policies, Kubernetes auth via the TokenReview stand-in, KV
data, an admin token) and acts on it when the binary asks over a pipe:
"seal", "unseal", "kill", "start" (re-seeded), "rotate" (new SA token in
the same file, the old one revoked).  OpenBao here is this module's own
instance: the tests seal and kill it, which would upset other modules.
"""

import os
import pathlib
import secrets as pysecrets
import select
import subprocess
import time

import pytest

import harness
from harness import secrets as tg_secrets

ROOT = pathlib.Path(__file__).resolve().parents[2]
NS, SA = "tenantgate", "broker"
GOOGLE = "tenantgate/tenants/google/jira"

BROKER_HCL = """
path "secret/data/tenantgate/tenants/*" { capabilities = ["read"] }
path "secret/metadata/tenantgate/tenants/*" { capabilities = ["read"] }
"""
ADMIN_HCL = """
path "secret/data/tenantgate/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/tenantgate/*" { capabilities = ["read", "list"] }
path "sys/policies/acl/tenantgate-*" { capabilities = ["create", "read", "update"] }
"""


def live_binaries():
    """test_vault_live of each built variant, sanitizer build first."""
    dirs = []
    if os.environ.get("TG_BIN_DIR"):
        dirs.append(pathlib.Path(os.environ["TG_BIN_DIR"]).parent / "test")
    dirs += [ROOT / "build" / v / "test" for v in ("san", "rel")]
    seen, out = set(), []
    for d in dirs:
        p = (d / "test_vault_live").resolve()
        if p.is_file() and os.access(p, os.X_OK) and p not in seen:
            seen.add(p)
            out.append(p)
    return out


@pytest.fixture(scope="module")
def env(tokenreview):
    bao = harness.OpenBao().start()
    bao.enable_kubernetes_auth(tokenreview.url)
    bao.write_policy("tg-broker", BROKER_HCL)
    bao.write_policy("tg-admin", ADMIN_HCL)
    bao.create_k8s_role("tg-broker", [SA], [NS], ["tg-broker"], ttl="1h")
    bao.create_k8s_role("tg-short", [SA], [NS], ["tg-broker"], ttl="3s",
                        max_ttl="6s")
    api_token = tg_secrets.register("atl-" + pysecrets.token_hex(16))
    old_token = tg_secrets.register("atl-old-" + pysecrets.token_hex(16))
    bao.kv_put(GOOGLE, {"email": "bot@google.example", "api_token": old_token})
    bao.kv_put(GOOGLE, {"email": "bot@google.example", "api_token": api_token})
    bao.kv_put("tenantgate/tenants/gone/jira", {"api_token": "x" * 12})
    bao.kv_put("tenantgate/tenants/gone/jira", {"api_token": "y" * 12})
    bao.kv_put("other/x", {"k": "v"})
    admin_token = tg_secrets.register("tgadmin-" + pysecrets.token_hex(16))

    def not_journaled(b):
        # dev mode forgets everything on restart; the harness replays
        # its journaled writes, these two we redo ourselves
        b.create_token(["tg-admin"], ttl="1h", id=admin_token)
        b.api("DELETE", "secret/data/tenantgate/tenants/gone/jira",
              check=True)
    not_journaled(bao)
    bao.on_start(not_journaled)

    state = {"sa": mint(tokenreview)}
    sa_file = tokenreview.write_token_file(state["sa"])
    yield {"bao": bao, "tokenreview": tokenreview, "sa_file": sa_file,
           "state": state, "api_token": api_token, "old_token": old_token,
           "admin_token": admin_token}
    bao.close()


def mint(tokenreview):
    # a jti makes two tokens minted in the same second differ
    tok = tokenreview.mint_sa_token(NS, SA, jti=pysecrets.token_hex(8))
    return tg_secrets.register(tok)


def act(env, cmd):
    bao, tr = env["bao"], env["tokenreview"]
    if cmd == "seal":
        bao.seal()
    elif cmd == "unseal":
        bao.unseal()
    elif cmd == "kill":
        bao.kill()
    elif cmd == "start":
        bao.start()
    elif cmd == "rotate":
        old = env["state"]["sa"]
        new = mint(tr)
        tr.write_token_file(new, path=env["sa_file"])
        tr.revoke(old)
        env["state"]["sa"] = new
    else:
        raise ValueError(f"unknown action {cmd!r}")


def run_live(binary, env, tmp, timeout=180):
    """Run the cmocka binary, serving its harness requests; returns
    (exit status, output)."""
    req_r, req_w = os.pipe()        # binary -> us
    resp_r, resp_w = os.pipe()      # us -> binary
    out_path = tmp / f"{binary.parent.parent.name}-test_vault_live.out"
    child_env = dict(os.environ)
    child_env.update({
        "TG_TEST_VAULT_ADDR": env["bao"].addr,
        "TG_TEST_VAULT_ROLE": "tg-broker",
        "TG_TEST_VAULT_SHORT_ROLE": "tg-short",
        "TG_TEST_VAULT_SA_TOKEN_FILE": env["sa_file"],
        "TG_TEST_VAULT_ADMIN_TOKEN": env["admin_token"],
        "TG_TEST_VAULT_EXPECT": env["api_token"],
        "TG_TEST_CTL_OUT": str(req_w),
        "TG_TEST_CTL_IN": str(resp_r),
        "ASAN_OPTIONS": os.environ.get(
            "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    for k in ("CMOCKA_MESSAGE_OUTPUT", "CMOCKA_XML_FILE", "http_proxy",
              "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        child_env.pop(k, None)
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([str(binary)], env=child_env, stdout=out,
                                stderr=subprocess.STDOUT,
                                pass_fds=(req_w, resp_r), cwd=tmp)
    os.close(req_w)
    os.close(resp_r)
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                raise AssertionError(f"{binary} still running after {timeout}s")
            ready, _, _ = select.select([req_r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(req_r, 4096)
            if not chunk:
                break                       # the binary exited
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.decode().strip()
                try:
                    act(env, cmd)
                    answer = "ok"
                except Exception as e:      # reported to the C test
                    answer = f"{type(e).__name__}: {e}".replace("\n", " ")
                os.write(resp_w, answer.encode() + b"\n")
        rc = proc.wait(timeout=30)
    finally:
        os.close(req_r)
        os.close(resp_w)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, out_path.read_text(errors="replace")


@pytest.mark.parametrize("binary", live_binaries() or [None],
                         ids=lambda p: p.parent.parent.name if p else "none")
def test_vault_live(binary, env, tmp):
    if binary is None:
        pytest.skip("test_vault_live not built (make VARIANT=san unit-bins)")
    if not env["bao"].running:
        env["bao"].start()
    if env["bao"].sealed():
        env["bao"].unseal()
    rc, out = run_live(binary, env, tmp)
    print(out)          # shown with -rP; conftest scans it for secrets too
    leaked = [h for h in tg_secrets.scan_text(out, f"{binary} output",
                                               record=False)]
    assert rc == 0, f"{binary} failed (exit {rc}):\n{out[-8000:]}"
    assert "PASSED" in out and "SKIPPED" not in out, out[-4000:]
    assert not leaked, f"secrets in {binary} output: {leaked}"
