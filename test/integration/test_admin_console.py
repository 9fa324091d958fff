"""The tenantgate-admin console driven in tmux (send-keys, capture-pane),
as tmux's own regress/ does it, against the harness's real PostgreSQL and
OpenBao and a real broker: add a membership on the Users screen (searching
5000 users as you type), rotate a key on the Keys screen and watch the
broker serve the new key, onboard a tenant through the wizard, revoke a
grant, filter the audit log, survive resizes, colours only when allowed.
Each step's screen text is asserted; no key may ever be on screen, in the
audit log or in a log.
"""

import os
import pathlib
import re
import shlex
import subprocess
import time
import uuid

import jwt as pyjwt
import pytest
import requests

from harness import runtime
from harness import secrets as tg_secrets
from harness.product import Tenantgate, binary
from harness.proc import free_port, wait_for

from integration.test_admin_cli import (Admin, q, seed_tenant,
                                        write_repo_policy)

REPO = pathlib.Path(__file__).resolve().parents[2]
DB = "tg_admin_console"
ACTOR = "ops-console"
CAPTURES = []


class Tmux:
    """One private tmux server (-L) running the console in an 80x24 window."""

    def __init__(self, env, x=80, y=24):
        self.sock = f"tgadmin-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir = runtime.make_tempdir("tmux")
        conf = pathlib.Path(self.dir) / "tmux.conf"
        conf.write_text("set -g default-terminal tmux-256color\n"
                        "set -g remain-on-exit on\n"
                        "set -g status off\n")
        self.env = dict(env)
        self.env.setdefault("TMUX_TMPDIR", self.dir)
        self.base = ["tmux", "-L", self.sock, "-f", str(conf)]
        self.x, self.y = x, y

    def tmux(self, *args, check=True):
        return subprocess.run(self.base + list(args), env=self.env, text=True,
                              capture_output=True, check=check, timeout=20)

    def start(self, argv):
        # A shell around the console records its exit status in a file:
        # tmux 3.3 does not always reap a pane's process promptly.
        self.status = pathlib.Path(self.dir) / "status"
        self.tmux("new-session", "-d", "-s", "c", "-x", str(self.x), "-y",
                  str(self.y), shlex.join(argv) + f"; echo $? > {self.status}")
        return self

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "c", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "c", "-l", text)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "c"] + (["-e"] if escapes else [])
        text = self.tmux(*args).stdout
        CAPTURES.append(text)
        tg_secrets.scan_text(text, "console screen")
        return text

    def lines(self):
        return self.screen().split("\n")

    def wait(self, pattern, timeout=15, gone=False):
        """The screen once it shows (or no longer shows) pattern and has
        stopped changing: a capture taken mid-redraw is never returned."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        last = None
        while True:
            s = self.screen()
            if bool(rx.search(s)) != gone and s == last:
                return s
            last = s
            if time.monotonic() > deadline:
                raise AssertionError(f"{'still' if gone else 'never'} on screen:"
                                     f" {rx.pattern!r}\n{s}")
            time.sleep(0.05)

    def resize(self, x, y):
        self.tmux("resize-window", "-t", "c", "-x", str(x), "-y", str(y))

    def quit(self):
        """q, and the console must exit with status 0."""
        self.keys("q")
        wait_for(lambda: self.status.exists() and self.status.read_text(),
                 timeout=15, what="the console to exit")
        assert self.status.read_text().strip() == "0", self.screen()

    def kill(self):
        self.tmux("kill-server", check=False)
        runtime.remove_tempdir(self.dir)


@pytest.fixture(scope="module")
def world(stack):
    stack.pg.create_database(DB)
    write_repo_policy(stack.bao, "tenantgate-onboarding",
                      "tenantgate-onboarding.hcl")
    token = stack.bao.create_token(["tenantgate-onboarding"])
    a = Admin(stack, DB, token, actor=ACTOR)
    a.ok("migrate")
    for t in ("wayne", "stark"):
        seed_tenant(a, t)
    a.sql("insert into users(email, display_name) select"
          " format('user%s@bulk.example', lpad(i::text, 5, '0')),"
          " format('Bulk User %s', i) from generate_series(1, 5000) i")
    a.sql("insert into users(email, display_name) values"
          " ('bruce@wayne.example', 'Bruce')")
    a.sql("insert into memberships(user_id, tenant_id, role, granted_by)"
          " select id, 'wayne', 'editor', 'seed' from users"
          " where email = 'bruce@wayne.example'")
    tg = Tenantgate(stack)
    broker = tg.start_broker(name="admin-console-broker", database_url=a.dsn,
                             vault_cache_ttl="1s")
    a.asan_dir = runtime.make_tempdir("admin-asan")
    yield a, tg, broker
    broker.stop()
    leftovers = list(pathlib.Path(a.asan_dir).glob("*"))
    assert leftovers == [], [p.read_text()[:2000] for p in leftovers]
    runtime.remove_tempdir(a.asan_dir)


@pytest.fixture
def console(world):
    admin = world[0]
    sessions = []

    def start(*extra_args, x=80, y=24, prefix=(), ready=r"1 Tenants", **env):
        e = admin.env()
        e["ASAN_OPTIONS"] += f":log_path={admin.asan_dir}/asan"
        e["UBSAN_OPTIONS"] += f":log_path={admin.asan_dir}/ubsan"
        e.pop("TERM", None)
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        t = Tmux(e, x, y).start([*prefix, binary("tenantgate-admin"), *extra_args,
                                 "console"])
        sessions.append(t)
        t.wait(ready)
        return t
    yield start
    for t in sessions:
        t.kill()


def broker_post(tg, broker, path, body):
    r = requests.post(broker.url + path, json=body, timeout=10,
                      headers={"Authorization": f"Bearer {tg.caller_secret}"})
    return r


def grant(tg, broker, email, tenant):
    r = broker_post(tg, broker, "/v1/grants",
                    {"assertion": tg.user_token(email), "tenants": [tenant]})
    assert r.status_code == 200, r.text
    return r.json()["grants"][0]["token"]


def redeem(tg, broker, token, integration="jira"):
    return broker_post(tg, broker, "/v1/redeem",
                       {"grant": token, "integration": integration})


def integration_index(admin, tenant, integration):
    rows = admin.json("key", "status", "--no-vault")
    return [(r["tenant"], r["integration"]) for r in rows].index(
        (tenant, integration))


def tenant_index(admin, tenant):
    return [r["tenant"] for r in admin.json("tenant", "list")].index(tenant)


# ---- the frame -----------------------------------------------------------------

def test_frame_help_and_command_prompt(console, world):
    t = console()
    lines = t.lines()
    assert lines[0].startswith(" tenantgate-admin   1 Tenants  2 Users  3 Keys"
                               "  4 Onboard  5 Grants  6 Audit")
    assert lines[1].split()[:3] == ["TENANT", "STATUS", "NAME"]
    assert re.search(r"^stark\s+active\s+Stark\s+confluence v1, jira v1", t.screen(),
                     re.M)
    assert lines[23] == "d Disable  e Enable  g Map group  x Unmap  ? Help  : Cmd" \
        "  q Quit"
    t.keys("?")
    s = t.wait("Help: Tenants")
    assert "d            disable the selected tenant (asks first)" in s
    assert "Everywhere:" in s
    t.keys("End")
    s = t.wait(r"\?            this help")
    assert "Secrets are typed with echo off and never drawn." in s
    t.keys("q")
    t.wait("Help: Tenants", gone=True)
    t.keys(":")
    t.type("g l")
    t.keys("Enter")
    s = t.wait("ambiguous command")
    assert s.split("\n")[1] == ":g l"
    assert "tenantgate-admin: ambiguous command: g, could be: grant, group" in s
    t.keys("q")
    t.wait(r":g l: failed \(exit 2\)")
    t.keys(":")
    t.type("ten show wayne")
    t.keys("Enter")
    s = t.wait("Integrations:")
    assert s.split("\n")[1] == ":ten show wayne" and "tenant    wayne" in s
    t.keys("q")
    t.wait(":ten show wayne: done")
    t.keys("Z")
    t.wait("Z does nothing here; \\? lists the keys")
    t.quit()


# ---- Users: search as you type, add a membership -----------------------------

def test_users_search_and_add_membership(console, world):
    admin = world[0]
    t = console()
    t.keys("2")
    t.wait(r"Search:\s+\d+ matches")
    assert "5001 matches (first 500 shown)" in t.screen()
    t.keys("/")
    t.type("user0424")
    s = t.wait("10 matches")
    assert "Search: user0424_" in s
    emails = re.findall(r"^(user0424\d@bulk\.example)", s, re.M)
    assert emails[:3] == ["user04240@bulk.example", "user04241@bulk.example",
                          "user04242@bulk.example"]
    t.type("2")
    s = t.wait(r"(?m) 1 match$")
    assert re.search(r"^user04242@bulk\.example\s+Bulk User 4242\s+active\s+0",
                     s, re.M)
    t.keys("BSpace")
    t.wait("10 matches")
    t.type("2")
    t.wait(r"(?m) 1 match$")
    t.keys("Enter")
    s = t.wait("Tenants of user04242@bulk.example")
    assert "(member of no tenant)" in s
    t.keys("a")
    s = t.wait("Add user04242@bulk.example to which tenant\\?")
    assert "> stark" in s and "  wayne" in s
    t.type("wa")
    t.wait("> wayne")
    t.keys("Enter")
    t.wait(" Role")
    t.type("e")
    t.wait("> editor")
    t.keys("Enter")
    s = t.wait("user04242@bulk.example added to wayne as editor")
    assert re.search(r"^wayne\s+editor\s+" + ACTOR, s, re.M)
    assert admin.scalar("select m.role from memberships m join users u on"
                        " u.id = m.user_id where u.email ="
                        " 'user04242@bulk.example' and m.tenant_id = 'wayne'") \
        == "editor"
    a = [x for x in admin.audit(action="member.add")
         if x["subject"] == "user04242@bulk.example"]
    assert a and a[-1]["actor"] == ACTOR and a[-1]["detail"]["via"] == "console"
    # and out again, with a confirmation
    t.keys("x")
    t.wait("Remove from which tenant\\?")
    t.keys("Enter")
    t.wait(r"Remove user04242@bulk\.example from tenant wayne\? \[y/N\]")
    t.keys("n")
    t.wait("not removed")
    assert admin.scalar("select count(*) from memberships m join users u on"
                        " u.id = m.user_id where u.email ="
                        " 'user04242@bulk.example'") == "1"
    t.quit()


# ---- Keys: rotate, and the broker serves the new key -----------------------------

def test_keys_rotate_and_broker_serves_new_key(console, world):
    admin, tg, broker = world
    at, bao = admin.s.atlassian, admin.s.bao
    old = at.credentials("wayne")
    r = redeem(tg, broker, grant(tg, broker, "bruce@wayne.example", "wayne"))
    assert r.status_code == 200 and r.json()["credential"] == old
    before = bao.kv_get("tenantgate/tenants/wayne/jira")["metadata"]["version"]
    new = at.set_credentials("wayne")           # the site accepts only this now

    t = console()
    t.keys("3")
    s = t.wait("wayne/jira")
    assert s.split("\n")[1].split() == ["INTEGRATION", "DB", "VAULT", "ROTATED",
                                        "(UTC)", "BY", "STATE"]
    assert re.search(rf"^wayne/jira\s+{before}\s+{before}\s+.*ok", s, re.M)
    for _ in range(integration_index(admin, "wayne", "jira")):
        t.keys("Down")
    t.wait("at tenantgate/tenants/wayne/jira")
    t.keys("r")
    t.wait(r"Account email \(empty: keep the current one\):")
    t.keys("Enter")
    t.wait(r"New key for wayne/jira: \(typing is hidden; Enter ends, Esc cancels\)")
    t.type(new["api_token"])
    s = t.screen()
    assert new["api_token"] not in s and new["api_token"][:12] not in s
    t.keys("Enter")
    t.wait(r"Rotate the key of wayne/jira \(verified at the site first\)\?.*"
           r"\[y/N\]")
    t.keys("y")
    s = t.wait(f"wayne/jira rotated: version {before} -> {before + 1}"
               r" \(verified\)")
    assert re.search(rf"^wayne/jira\s+{before + 1}\s+{before + 1}\s+\S+ \S+ "
                     rf"{ACTOR}\s+ok", s, re.M)
    got = bao.kv_get("tenantgate/tenants/wayne/jira")
    assert got["metadata"]["version"] == before + 1 and got["data"] == new
    a = admin.audit(action="key.rotate")[-1]
    assert a["actor"] == ACTOR and a["detail"]["via"] == "console"
    assert a["detail"]["verified"] is True

    def serves_new():
        r = redeem(tg, broker, grant(tg, broker, "bruce@wayne.example", "wayne"))
        return r.status_code == 200 and r.json()["credential"] == new and \
            r.json()["cred_version"] == before + 1
    wait_for(serves_new, timeout=15, what="the broker serving the new key")
    t.quit()


def test_keys_rotate_wrong_key_and_cancel(console, world):
    admin = world[0]
    bao = admin.s.bao
    before = bao.kv_get("tenantgate/tenants/stark/jira")["metadata"]["version"]
    t = console()
    t.keys("3")
    t.wait("stark/jira")
    for _ in range(integration_index(admin, "stark", "jira")):
        t.keys("Down")
    t.wait("at tenantgate/tenants/stark/jira")
    # Esc at the key prompt: nothing happens, and it is no refusal
    n = len(admin.audit(action="key.rotate_refused"))
    t.keys("r", "Enter")
    t.wait("New key for stark/jira")
    t.keys("Escape")
    t.wait("no key entered: nothing was changed")
    t.keys("r", "Enter")
    t.wait("New key for stark/jira")
    t.type("whatever")
    t.keys("Enter")
    t.wait(r"\[y/N\]")
    t.keys("n")
    t.wait("not rotated: nothing was changed")
    assert len(admin.audit(action="key.rotate_refused")) == n
    wrong = tg_secrets.register("ATATT3xWrong" + uuid.uuid4().hex)
    t.keys("r", "Enter")
    t.wait("New key for stark/jira")
    t.type(wrong)
    t.keys("Enter")
    t.wait(r"\[y/N\]")
    t.keys("y")
    s = t.wait("nothing was written: .* refused the new key")
    assert wrong not in s
    assert bao.kv_get("tenantgate/tenants/stark/jira")["metadata"]["version"] \
        == before
    t.quit()


# ---- Onboard: the wizard ---------------------------------------------------------

def test_onboard_wizard(console, world):
    admin = world[0]
    at, bao = admin.s.atlassian, admin.s.bao
    at.add_tenant("gotham")
    creds = at.credentials("gotham")
    t = console()
    t.keys("4")
    s = t.wait("New client tenant")
    assert re.search(r"^ Tenant slug\s+a-z, 0-9, '-'", s, re.M)
    assert re.search(r"^ API key\s+\(not set\)", s, re.M)
    assert t.lines()[23].startswith("Enter Edit  p Dry run  s Onboard  c Clear")
    # step 1, with a typo first
    t.keys("Enter")
    t.wait("Tenant slug:")
    t.type("Gotham")
    t.keys("Enter")
    t.wait("a tenant slug starts with a letter a-z")
    t.keys("Enter")
    t.wait("Tenant slug:")
    t.type("gotham")
    t.keys("Enter")
    t.wait(r"(?m)^ Tenant slug\s+gotham")
    for label, value in (("Display name", "Gotham City"),
                         ("Atlassian site", at.base_url("gotham")),
                         ("Integrations", None),
                         ("Key's account", creds["email"])):
        t.keys("Enter")
        t.wait(f"{label}:")
        if value is not None:
            t.type(value)
        t.keys("Enter")
        t.wait(rf"(?m)^ {re.escape(label)}\s+{re.escape(value or 'jira,confluence')}")
    t.keys("Enter")
    t.wait("API key for " + re.escape(creds["email"]) + r":.*typing is hidden")
    t.type(creds["api_token"])
    t.keys("Enter")
    s = t.wait(r"(?m)^ API key\s+\(set\)")
    assert creds["api_token"] not in s
    t.keys("p")
    # a plain http site is asked about each time (the CLI's --insecure-site)
    t.wait(r"Plain http site: the key travels unencrypted\. Use it \(test sites"
           r" only\)\? \[y/N\]")
    t.keys("n")
    t.wait("use an https site: nothing was changed")
    t.keys("p")
    t.wait(r"Plain http site.*\[y/N\]")
    t.keys("y")
    s = t.wait("dry run of gotham done: nothing was changed")
    assert "Would onboard tenant gotham:" in s
    assert "[would] write Vault policy tenantgate-tenant-gotham" in s
    assert "[would] insert tenant gotham (Gotham City)" in s
    assert admin.scalar("select count(*) from tenants where id='gotham'") == "0"
    t.keys("s")
    t.wait(r"Plain http site.*\[y/N\]")
    t.keys("y")
    t.wait(r"Onboard tenant gotham \(http://.*\)\? \[y/N\]")
    t.keys("y")
    s = t.wait("tenant gotham onboarded", timeout=30)
    assert "[done] Vault policy tenantgate-tenant-gotham written" in s
    assert "[done] tenant gotham recorded with 2 integration(s); brokers" in s
    assert re.search(r"(?m)^ API key\s+\(not set\)", s)   # not kept around
    assert admin.scalar("select display_name from tenants where id='gotham'") == \
        "Gotham City"
    assert bao.kv_get("tenantgate/tenants/gotham/jira")["data"] == creds
    assert [a["action"] for a in admin.audit(tenant="gotham")] == [
        "onboard.policy", "onboard.key", "onboard.key", "onboard.tenant"]
    assert all(a["detail"]["via"] == "console" for a in admin.audit(tenant="gotham"))
    # and it shows on the Tenants screen
    t.keys("1")
    t.wait(r"(?m)^gotham\s+active\s+Gotham City\s+confluence v1, jira v1")
    t.quit()


# ---- Grants and Audit ----------------------------------------------------------

def test_grants_screen_revoke_stops_redeem(console, world):
    admin, tg, broker = world
    token = grant(tg, broker, "bruce@wayne.example", "wayne")
    jti = pyjwt.decode(token, options={"verify_signature": False})["jti"]
    t = console()
    t.keys("5")
    s = t.wait("active grant")
    assert re.search(r"^\S+ \S+\s+bruce@wayne\.example\s+wayne\s+editor\s+\d+s",
                     s, re.M)
    t.keys("x")
    t.wait(r"Revoke grant " + jti[:12] +
           r" of bruce@wayne\.example in tenant wayne\? \[y/N\]")
    t.keys("y")
    t.wait(f"grant {jti} of bruce@wayne.example revoked")
    r = redeem(tg, broker, token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_revoked"
    assert admin.scalar(f"select revoked_by from revoked_grants where"
                        f" jti = {q(jti)}") == ACTOR
    t.quit()


def test_audit_screen_filter_and_detail(console, world):
    admin = world[0]
    admin.ok("tenant", "disable", "stark", "--yes")
    admin.ok("tenant", "enable", "stark")
    t = console()
    t.keys("6")
    s = t.wait("newest first")
    assert s.split("\n")[2].split()[:4] == ["TIME", "(UTC)", "ACTOR", "ACTION"]
    t.keys("/")
    t.wait("Filter")
    t.type("action:tenant. tenant:stark")
    t.keys("Enter")
    s = t.wait("filter: action:tenant. tenant:stark")
    rows = [l for l in s.split("\n")[3:] if re.match(r"^\d{4}-", l)]
    assert rows and all(" tenant." in r and " stark " in r for r in rows)
    t.keys("Enter")
    s = t.wait(r"Audit row \d+")
    assert '"tenant": "stark"' in s and '"db_user":' in s
    t.keys("q")
    t.wait(r"Audit row \d+", gone=True)
    t.quit()


def test_tenants_disable_enable_and_group_mapping(console, world):
    admin = world[0]
    t = console()
    for _ in range(tenant_index(admin, "stark")):
        t.keys("Down")
    t.wait(r"(?m)^stark: active")
    t.keys("d")
    t.wait(r"Disable tenant stark\? .*\[y/N\]")
    t.keys("n")
    t.wait("not disabled")
    assert admin.scalar("select status from tenants where id='stark'") == "active"
    t.keys("d")
    t.wait(r"\[y/N\]")
    t.keys("y")
    t.wait("tenant stark disabled")
    assert admin.scalar("select status from tenants where id='stark'") == "disabled"
    t.keys("e")
    t.wait("tenant stark enabled")
    t.keys("g")
    t.wait("IdP group to map to stark:")
    t.type("avengers")
    t.keys("Enter")
    t.wait("Role for the group")
    t.type("a")
    t.keys("Enter")
    s = t.wait("group avengers now gives admin in stark")
    assert " group avengers -> admin" in s
    t.keys("x")
    t.wait("Unmap which group")
    t.keys("Enter")
    t.wait(r"Remove the mapping of group avengers to tenant stark\? \[y/N\]")
    t.keys("y")
    t.wait("group avengers no longer maps to stark")
    assert admin.json("group", "list", "--tenant", "stark") == []
    acts = [a["action"] for a in admin.audit(tenant="stark")]
    assert acts[-4:] == ["tenant.disable", "tenant.enable", "group.add",
                         "group.remove"]
    t.quit()


# ---- resize, colours -----------------------------------------------------------

def test_resize_mid_screen(console, world):
    t = console()
    t.keys("2", "/")
    t.type("user0001")
    t.wait("10 matches")
    t.resize(100, 30)
    s = t.wait(r"(?m)^/ Search  a Add  x Remove  n New  \? Help  : Cmd  q Quit")
    lines = s.split("\n")
    assert len(lines) >= 30
    assert lines[0].startswith(" tenantgate-admin   1 Tenants")
    assert lines[1].startswith("Search: user0001_  10 matches")
    assert lines[29].startswith("/ Search")
    t.resize(60, 18)
    s = t.wait(r"(?m)^  1 Tenants  2 Users")
    lines = s.split("\n")
    assert lines[1].startswith("Search: user0001_")
    assert lines[17].startswith("/ Search  a Add")
    assert max(len(l) for l in lines) <= 60
    # a dialog open while the terminal changes size
    t.keys("Enter", "a")
    t.wait("to which tenant")
    t.resize(80, 24)
    s = t.wait(r"(?m)^ tenantgate-admin   1 Tenants")
    assert "Add user00010@bulk.example to which tenant?" in s
    assert s.split("\n")[23].startswith("/ Search")
    t.keys("Escape")
    t.wait("to which tenant", gone=True)
    t.resize(30, 8)
    t.wait("terminal too small: 30x8")
    t.resize(80, 24)
    s = t.wait(r"(?m)^Tenants of user00010@bulk\.example")
    assert s.split("\n")[1].startswith("Search: user0001 ")
    t.quit()


COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|4[0-7]|38;5;\d+|48;5;\d+)m")


def test_colours_only_when_allowed(console, world):
    t = console()
    s = t.screen(escapes=True)
    assert COLOUR.search(s), repr(s[:300])
    t.quit()
    t = console(NO_COLOR="1")
    s = t.screen(escapes=True)
    assert not COLOUR.search(s), repr(s[:300])
    assert "\x1b[7m" in s                     # reverse video carries the bars
    t.quit()
    t = console("--no-color")
    assert not COLOUR.search(t.screen(escapes=True))
    t.quit()
    # a terminal without colours
    t = console(prefix=("env", "TERM=vt100"))
    s = t.screen(escapes=True)
    assert not COLOUR.search(s) and "\x1b[7m" in s
    t.quit()


def test_console_with_the_database_down(console, world):
    admin = world[0]
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/x?connect_timeout=1"
    t = console(TENANTGATE_DATABASE_URL=dead, ready="cannot connect to PostgreSQL")
    # an error where the rows would be, never an empty list
    s = t.wait(r"(?m)^ cannot load: cannot connect to PostgreSQL: .*")
    assert "no tenants yet" not in s
    empty = {"1": "no tenants yet", "2": "no users yet", "3": "no integrations",
             "5": "no active grants", "6": "no audit rows"}
    for k in "2356":
        t.keys(k)
        s = t.wait(r"(?m)^ cannot load: cannot connect to PostgreSQL")
        assert empty[k] not in s, s
    t.keys("2")
    assert "search failed" in t.wait("cannot load")
    t.keys("1", "d")
    t.wait("nothing to do here|cannot connect")
    t.quit()


def test_console_reads_database_url(console, world):
    """`. .demo/env` exports DATABASE_URL only: the console uses it."""
    admin = world[0]
    t = console(TENANTGATE_DATABASE_URL=None, DATABASE_URL=admin.dsn)
    t.wait(r"(?m)^wayne\s+active")
    t.quit()


def test_screens_reload_after_their_own_actions(console, world):
    """A screen reloads after an action taken on it, whatever its outcome:
    a change made meanwhile elsewhere shows up without F5, and a refused
    rotation is audited."""
    admin = world[0]
    bao = admin.s.bao
    t = console()
    t.keys("3")
    s = t.wait("stark/confluence")
    v = int(re.search(r"(?m)^stark/confluence\s+(\d+)", s).group(1))
    # another operator rotates stark/confluence; this screen does not know
    admin.ok("key", "rotate", "stark", "confluence", "--no-verify", "--yes",
             input=tg_secrets.register("ATATT3xOther" + uuid.uuid4().hex))
    assert re.search(rf"(?m)^stark/confluence\s+{v}\s+{v}\s", t.screen())
    n = len(admin.audit(action="key.rotate_refused"))
    for _ in range(integration_index(admin, "stark", "jira")):
        t.keys("Down")
    t.wait("at tenantgate/tenants/stark/jira")
    wrong = tg_secrets.register("ATATT3xWrong" + uuid.uuid4().hex)
    t.keys("r", "Enter")
    t.wait("New key for stark/jira")
    t.type(wrong)
    t.keys("Enter")
    t.wait(r"\[y/N\]")
    t.keys("y")
    s = t.wait(rf"(?m)^stark/confluence\s+{v + 1}\s+{v + 1}\s")
    assert "refused the new key" in s
    got = admin.audit(action="key.rotate_refused")[n:]
    assert [(a["tenant"], a["subject"], a["detail"]["reason"],
             a["detail"]["via"]) for a in got] == [
        ("stark", "jira", "key_rejected", "console")]
    assert bao.kv_get("tenantgate/tenants/stark/confluence")["metadata"][
        "version"] == v + 1
    t.quit()


def test_audit_screen_hides_grant_rows_with_one_key(console, world):
    admin = world[0]
    for i in range(30):
        admin.sql("insert into audit_log(actor, action, tenant_id, subject)"
                  f" values ('bruce@wayne.example', 'grant.issue', 'wayne',"
                  f" 'jti-{uuid.uuid4().hex}')")
    admin.ok("tenant", "disable", "wayne", "--yes")
    admin.ok("tenant", "enable", "wayne")
    for i in range(30):
        admin.sql("insert into audit_log(actor, action, tenant_id, subject)"
                  f" values ('bruce@wayne.example', 'grant.issue', 'wayne',"
                  f" 'jti-{uuid.uuid4().hex}')")
    t = console()
    t.keys("6")
    s = t.wait("newest first")
    assert s.split("\n")[23].startswith("/ Filter  Enter Details  g Hide grants")
    assert " grant.issue " in s and " tenant.enable " not in s
    t.keys("g")
    s = t.wait(r"newest first \(grant\.\* hidden\)")
    rows = [l for l in s.split("\n")[3:] if re.match(r"^\d{4}-", l)]
    assert rows and not any(" grant." in r for r in rows)
    assert " tenant.enable " in s and " tenant.disable " in s
    # filters combine with it
    t.keys("/")
    t.wait("Filter")
    t.type("tenant:wayne")
    t.keys("Enter")
    s = t.wait(r"newest first \(grant\.\* hidden\)   filter: tenant:wayne")
    assert " grant." not in s and " tenant.enable " in s
    t.keys("g")
    s = t.wait(r"grant\.\* hidden", gone=True)
    assert " grant.issue " in s
    t.keys("?")
    assert "hide (or show again) the brokers' grant.* rows" in t.wait("Help: Audit")
    t.keys("q")
    t.quit()


def test_command_prompt_key_rotate_hides_the_key(console, world):
    admin = world[0]
    bao = admin.s.bao
    path = "tenantgate/tenants/stark/confluence"
    before = bao.kv_get(path)["metadata"]["version"]
    key = tg_secrets.register("ATATT3xPrompt" + uuid.uuid4().hex)
    t = console()
    t.keys(":")
    t.type("k r stark confluence --no-verify")
    t.keys("Enter")
    t.wait(r"New key for stark/confluence \(not echoed\): \(typing is hidden")
    t.type(key)
    assert key not in t.screen()
    t.keys("Enter")
    t.wait(r"Rotate the key of stark/confluence\? .*\[y/N\]")
    t.keys("y")
    s = t.wait(f"stark/confluence rotated: version {before} -> {before + 1}"
               r" \(not verified\)")
    assert "not verifying the new key (--no-verify, recorded in the audit log)" in s
    t.keys("q")
    t.wait(":k r stark confluence --no-verify: done")
    got = bao.kv_get(path)
    assert got["metadata"]["version"] == before + 1
    assert got["data"]["api_token"] == key
    t.quit()


def test_keys_screen_warns_of_expiring_keys(console, world):
    """Keys expiring within 30, 7 and 1 days (and expired ones) show in
    STATE; the most urgent is on the message line when the screen opens."""
    admin = world[0]
    from integration.test_admin_cli import iso_in, put_key_with_expiry
    seed_tenant(admin, "pym")
    put_key_with_expiry(admin, "pym", "jira", iso_in(3 * 86400 + 3600))
    put_key_with_expiry(admin, "pym", "confluence", iso_in(20 * 86400 + 3600))
    t = console()
    t.keys("3")
    s = t.wait(r"(?m)^key pym/jira expires in 3 days: r rotates it \(and see STATE\)$")
    assert re.search(r"(?m)^pym/jira\s.*expires in 3 days", s)
    assert re.search(r"(?m)^pym/confluence\s.*expires in 20 days", s)
    assert re.search(r"(?m)^wayne/jira\s.*\sok\s*$", s)
    # expired beats soon
    put_key_with_expiry(admin, "pym", "confluence", iso_in(-86400 - 60))
    t.keys("F5")
    s = t.wait(r"key pym/confluence EXPIRED 2 days ago: r rotates it")
    assert re.search(r"(?m)^pym/confluence\s.*EXPIRED 2 days ago", s)
    t.quit()
    # a tenant whose keys do not expire soon: no warning
    admin.s.bao.kv_put("tenantgate/tenants/pym/jira",
                       admin.s.atlassian.credentials("pym"))
    admin.s.bao.kv_put("tenantgate/tenants/pym/confluence",
                       admin.s.atlassian.credentials("pym"))
    admin.sql("update tenant_integrations t set cred_version = cred_version + 1"
              " where tenant_id = 'pym'")
    t = console()
    t.keys("3")
    s = t.wait("pym/jira")
    assert "rotates it" not in s
    t.quit()


def test_no_secret_on_screen_in_audit_or_logs(world):
    admin = world[0]
    leaked = tg_secrets.scan_text("\n".join(CAPTURES), "captures", record=False)
    audit = admin.s.pg.psql("select actor, action, tenant_id, subject,"
                            " detail::text from audit_log", dbname=DB)
    leaked += tg_secrets.scan_text(audit, "audit_log", record=False)
    assert leaked == []
    for p in runtime.all_log_paths():
        assert tg_secrets.scan_file(p, record=False) == [], p
