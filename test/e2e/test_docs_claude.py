"""docs/claude.md's runnable blocks (marked `<!-- test: run -->`) against a
real `make demo-up`: the OAuth discovery a Claude client does, and the
headless token recipe (register, authorize with PKCE, token) that ends in
bob's tools/list. The blocks run as written, with bash, from a directory
whose .demo/ is this test's demo."""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from harness.product import DEMO_TOOLS

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "claude.md"
MARK = re.compile(r"<!-- test: run -->\s*```sh\n(.*?)```", re.S)

BOB_TOOLS = sorted(DEMO_TOOLS["bob@example.com"])


def blocks():
    return MARK.findall(DOC.read_text())


def test_doc_has_the_runnable_blocks():
    assert len(blocks()) == 2


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not (pathlib.Path(os.environ.get("TG_BIN_DIR", REPO / "build/san/bin"))
            / "tenantgate-forwarder").exists():
        pytest.skip("forwarder not built")
    for tool in ("jq", "curl", "openssl"):
        assert shutil.which(tool), f"{tool} is needed by docs/claude.md"
    root = tmp_path_factory.mktemp("docdemo")
    env = dict(os.environ, TG_DEMO_DIR=str(root / ".demo"))
    r = subprocess.run(["make", "-s", "demo-up"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield root
    finally:
        r = subprocess.run(["make", "-s", "demo-down"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr


def run_block(root, text):
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=root,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_discovery_block(demo):
    out = run_block(demo, blocks()[0])
    assert re.search(r'(?i)^www-authenticate: Bearer realm="tenantgate", '
                     r'resource_metadata="http://127\.0\.0\.1:\d+/\.well-known/'
                     r'oauth-protected-resource/mcp", scope="openid email"', out, re.M)
    assert '"authorization_servers"' in out
    assert '"registration_endpoint"' in out and '"S256"' in out


def test_headless_token_block_gives_bobs_tools(demo):
    out = run_block(demo, blocks()[1])
    assert out.split() == BOB_TOOLS
