"""pytest wiring for the harness (test/harness/, see docs/testing.md).

Session-scoped servers: pg, bao, tokenreview, atlassian, oidc, and stack
(all of them together, Kubernetes auth on bao pointed at the TokenReview
stand-in).  Function-scoped helpers: tmp (a fresh dir, removed after the
test) and fresh_atlassian (seed data back, no calls, no faults).

Leak check: every string passed to harness.secrets.register() (the fake
Atlassian keys are registered automatically) must not appear in any
harness log file or in captured test output.  A leak fails the session:
an error at the teardown of the last test, and a non-zero exit status.
"""

import pathlib
import sys

import pytest

TEST_DIR = pathlib.Path(__file__).resolve().parent
if str(TEST_DIR) not in sys.path:
    sys.path.insert(0, str(TEST_DIR))

import harness  # noqa: E402
from harness import runtime  # noqa: E402
from harness import secrets as tg_secrets  # noqa: E402
from harness.product import Tenantgate  # noqa: E402

_leaks_reported = 0


def pytest_configure(config):
    runtime.install_signal_handlers()


def pytest_runtest_logreport(report):
    for name, content in report.sections:
        tg_secrets.scan_text(content, f"{report.nodeid} ({name})")


@pytest.fixture(scope="session", autouse=True)
def _harness_session():
    """Runs first, finishes last: clean up everything, then the leak check."""
    global _leaks_reported
    yield
    runtime.cleanup()
    found = tg_secrets.report()
    _leaks_reported = len(found)
    if found:
        lines = "\n".join(f"  {h} in {w}" for w, h in found)
        pytest.fail(f"registered test secrets leaked:\n{lines}",
                    pytrace=False)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # backstop after pytest's own fixture teardown (which runs in its
    # sessionfinish): anything left behind, e.g. after Ctrl-C, and leaks
    # seen after the fixture's check (the last test's teardown output)
    runtime.cleanup()
    found = tg_secrets.report()
    if len(found) > _leaks_reported:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        for w, h in found[_leaks_reported:]:
            msg = f"LEAK: registered test secret {h} in {w}"
            if tr:
                tr.write_line(msg, red=True)
            else:
                sys.stderr.write(msg + "\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---- paths ----------------------------------------------------------------

@pytest.fixture(scope="session")
def repo_root():
    return TEST_DIR.parent


@pytest.fixture
def tmp():
    """A fresh directory (pathlib.Path), removed after the test."""
    d = runtime.make_tempdir("tmp")
    yield pathlib.Path(d)
    runtime.remove_tempdir(d)


# ---- servers ----------------------------------------------------------------

@pytest.fixture(scope="session")
def pg():
    p = harness.Postgres().start()
    yield p
    p.close()


@pytest.fixture(scope="session")
def bao():
    b = harness.OpenBao().start()
    yield b
    b.close()


@pytest.fixture(scope="session")
def tokenreview():
    t = harness.TokenReview().start()
    yield t
    t.close()


@pytest.fixture(scope="session")
def atlassian():
    a = harness.FakeAtlassian().start()
    yield a
    a.close()


@pytest.fixture
def fresh_atlassian(atlassian):
    atlassian.reset()
    yield atlassian
    atlassian.clear_faults()


@pytest.fixture(scope="session")
def oidc():
    o = harness.OidcIssuer().start()
    yield o
    o.close()


@pytest.fixture(scope="session")
def stack(pg, bao, tokenreview, atlassian, oidc):
    """Everything, with Kubernetes auth on bao -> the TokenReview stand-in."""
    s = harness.Stack(pg=pg, bao=bao, tokenreview=tokenreview,
                      atlassian=atlassian, oidc=oidc).start()
    yield s
    # components are closed by their own fixtures


@pytest.fixture(scope="module")
def tg(stack):
    """The product on the shared stack: migrated, the demo tenants and users
    seeded. A module that needs more defines its own `tg`."""
    t = Tenantgate(stack)
    t.migrate()
    t.seed_demo()
    return t


@pytest.fixture(scope="session")
def k8s_bao(bao, tokenreview):
    """bao with Kubernetes auth enabled against the stand-in."""
    bao.enable_kubernetes_auth(tokenreview.url)
    return bao


def pytest_report_header(config):
    return [f"harness temp dirs: {runtime.base_dir()}/{runtime.PREFIX}*"
            + (" (kept: TG_KEEP_TMP)" if runtime.keep_tmp() else "")]

