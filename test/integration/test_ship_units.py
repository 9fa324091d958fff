"""The systemd units in systemd/: systemd-analyze verify (with ExecStart
pointed at the built binaries, which verify requires to exist) and
systemd-analyze security --offline with a threshold: both units must stay
at an exposure of 2.0 ("OK") or better. systemd need not be PID 1 here.
"""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = sorted(p.name for p in (ROOT / "systemd").glob("*.service"))
THRESHOLD = 20          # systemd-analyze counts tenths: 20 = exposure 2.0


def analyze():
    exe = shutil.which("systemd-analyze")
    if not exe:
        pytest.fail("systemd-analyze missing: run ./scripts/deps --check (make check does)")
    return exe


def bin_dir():
    d = os.environ.get("TG_BIN_DIR")
    return pathlib.Path(d) if d else ROOT / "build" / "rel" / "bin"


def local_copy(unit, tmp, edit=None):
    """The unit with ExecStart= naming the built binary."""
    text = (ROOT / "systemd" / unit).read_text()
    text = re.sub(r"^ExecStart=/usr/bin/(tenantgate-[a-z]+)",
                  lambda m: f"ExecStart={bin_dir() / m.group(1)}", text, flags=re.M)
    assert str(bin_dir()) in text, f"{unit}: no ExecStart=/usr/bin/tenantgate-*"
    if edit:
        text = edit(text)
    p = tmp / unit
    p.write_text(text)
    return p


def run(*args, cwd):
    return subprocess.run([analyze(), *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies(unit, tmp):
    p = local_copy(unit, tmp)
    r = run("verify", "--man=no", f"./{p.name}", cwd=tmp)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        f"{unit}:\n{r.stdout}{r.stderr}"


def test_verify_would_catch_a_broken_unit(tmp):
    p = local_copy(UNITS[0], tmp, edit=lambda t: t.replace("[Service]", "[Service]\nProtectSystm=strict"))
    r = run("verify", "--man=no", f"./{p.name}", cwd=tmp)
    assert "ProtectSystm" in r.stdout + r.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_unit_exposure_is_at_most_2(unit, tmp):
    p = local_copy(unit, tmp)
    r = run("security", "--offline=yes", f"--threshold={THRESHOLD}", "--no-pager",
            f"./{p.name}", cwd=tmp)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", r.stdout)
    assert m, r.stdout[-2000:] + r.stderr
    print(f"{unit}: exposure {m.group(1)}")
    assert r.returncode == 0 and float(m.group(1)) <= THRESHOLD / 10, r.stdout[-3000:]


def test_threshold_would_catch_a_weakened_unit(tmp):
    weak = lambda t: re.sub(r"^(ProtectSystem|PrivateDevices|NoNewPrivileges|"
                            r"CapabilityBoundingSet|SystemCallFilter|"
                            r"RestrictAddressFamilies|ProtectKernel\w+|"
                            r"MemoryDenyWriteExecute|DynamicUser)=.*\n", "", t, flags=re.M)
    p = local_copy(UNITS[0], tmp, edit=weak)
    r = run("security", "--offline=yes", f"--threshold={THRESHOLD}", "--no-pager",
            f"./{p.name}", cwd=tmp)
    assert r.returncode != 0, r.stdout[-1500:]
