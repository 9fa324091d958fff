"""docs/drills.md, run: every `sh` block against a fresh background demo
(scripts/demo.py up, in a private state dir), in order, in one bash as a
reader would; each `# expect: REGEX` line of a block must match what the
block printed. The drills restart OpenBao and PostgreSQL
and revoke, rotate and refuse for real, so what the doc says a user and ops
see is what they see."""

import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "drills.md"
BIN = pathlib.Path(os.environ.get("TG_BIN_DIR", REPO / "build/san/bin"))


def blocks():
    """[(heading, code)] of the ```sh blocks, in order."""
    out, heading = [], ""
    text = DOC.read_text()
    for m in re.finditer(r"^(#+ [^\n]*)$|^```sh\n(.*?)^```$", text, re.M | re.S):
        if m.group(1):
            heading = m.group(1).lstrip("# ")
        else:
            out.append((heading, m.group(2)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not (BIN / "tenantgate-forwarder").exists():
        pytest.skip("forwarder not built")
    root = tmp_path_factory.mktemp("drills")
    state = root / "demo"
    work = root / "work"           # the "repository root" the doc speaks of
    work.mkdir()
    for name, target in ((".demo", state), ("scripts", REPO / "scripts"),
                         (".venv", REPO / ".venv")):
        (work / name).symlink_to(target)
    env = {"PATH": f"{os.environ.get('PATH', '/usr/bin:/bin')}",
           "HOME": str(root), "LANG": "C.UTF-8", "TG_DEMO_DIR": str(state),
           "TG_BIN_DIR": str(BIN), "TENANTGATE_ACTOR": "drill-ops"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    r = subprocess.run([sys.executable, str(REPO / "scripts/demo.py"), "up"],
                       cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield work, env
    finally:
        r = subprocess.run([sys.executable, str(REPO / "scripts/demo.py"), "down"],
                           cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        log = (state / "demo.log").read_text()
        # every daemon exit was one the drills asked for
        assert "exited" not in log or "restart" in log


def test_drills_doc_has_the_four_drills():
    heads = [h for h, _ in blocks()]
    for want in ("Revoking a user", "Rotating a key", "Losing Vault",
                 "Restarting PostgreSQL"):
        assert any(want in h for h in heads), want
    # the first block sets up the shell
    assert all("# expect:" in code for _, code in blocks()[1:])


def test_drills(demo, tmp_path):
    """One bash, as a reader's one shell: variables set in a block (the new
    key of drill 2) are there in the next. Each block's output goes to its
    own file; `set -e` stops at the first failing command, so the first
    block without a status file is the one that failed."""
    work, env = demo
    bs = blocks()
    parts = ["set -e -o pipefail"]
    for i, (_, code) in enumerate(bs):
        parts.append(f"{{\n{code}\n}} >{tmp_path}/{i}.out 2>&1\n"
                     f"echo ok >{tmp_path}/{i}.rc")
    r = subprocess.run(["bash", "-c", "\n".join(parts)], cwd=work, env=env,
                       capture_output=True, text=True, timeout=900)
    for i, (heading, code) in enumerate(bs):
        out_file = tmp_path / f"{i}.out"
        out = out_file.read_text() if out_file.exists() else ""
        where = f"docs/drills.md block {i} ({heading}):\n{code}\n--- printed:\n{out}"
        assert (tmp_path / f"{i}.rc").exists(), f"failed (bash {r.returncode})" \
            f" in {where}\n{r.stderr}"
        for rx in re.findall(r"^# expect: (.*)$", code, re.M):
            assert re.search(rx, out), f"expected /{rx}/ in {where}"
    assert r.returncode == 0, r.stderr


def test_a_daemon_exit_does_not_stop_the_demo(demo):
    """The broker goes away: the demo says so and keeps running; starting
    the broker again is all it takes."""
    work, env = demo
    state = work / ".demo"
    demo_py = [sys.executable, str(REPO / "scripts/demo.py")]

    def run(*args):
        return subprocess.run(demo_py + list(args), cwd=work, env=env,
                              capture_output=True, text=True, timeout=240)
    r = run("stop", "broker")
    assert r.returncode == 0 and "broker stopped" in r.stdout, r.stdout + r.stderr
    log = state / "demo.log"
    deadline = time.monotonic() + 15
    while "demo: broker exited" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)
    assert "scripts/demo.py restart broker starts it again" in log.read_text()
    pid = int((state / "pid").read_text())
    os.kill(pid, 0)                              # the demo still runs
    broker = re.search(r"BROKER_URL=(\S+)", (state / "env").read_text()).group(1)
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        f"{broker}/healthz"], capture_output=True, text=True,
                       timeout=30)
    assert r.stdout == "000"                     # nobody listens there now
    r = run("start", "broker")
    assert r.returncode == 0 and "broker started" in r.stdout, r.stdout + r.stderr
    r = run("call", "bob@example.com", "google__jira_search",
            '{"jql": "project = GOOG"}')
    assert r.returncode == 0 and "GOOG-1" in r.stdout, r.stdout
    assert "demo: stopping" not in log.read_text()
    # an unknown component is a usage error
    r = run("restart", "nosuch")
    assert r.returncode == 2 and "one of broker, forwarder, bao, pg" in r.stderr
