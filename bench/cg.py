"""Reading callgrind dumps: total instructions, and where they went (per
library, top functions, and the inclusive share of our own functions).

The dumps come from `callgrind_control -z` (zero) before a bounded batch
of requests and `callgrind_control -d` (dump) after it, so a dump holds
exactly that batch (plus the daemon's idle timers, which are negligible).
"""

import re
import shutil
import subprocess

# Frames that were on a thread's stack when the counters were zeroed:
# callgrind_annotate shows their inclusive cost as their own, so they are
# left out of the per-function and per-library figures (what is left adds
# up to the dump's total within a fraction of a percent).
STACK_FRAMES = re.compile(
    r":(clone|start_thread|\(below main\)|__libc_start_main\S*|main|"
    r"event_base_dispatch|event_base_loop|httpd_worker|api_worker|"
    r"\w*_worker)( |$)|\[\S*ld-linux[^\]]*\]")


def total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return None


def _annotate(path, inclusive):
    try:
        text = subprocess.run(
            ["callgrind_annotate", "--auto=no", "--threshold=100",
             f"--inclusive={'yes' if inclusive else 'no'}", str(path)],
            capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rx = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$")
    rows, started = [], False
    for line in text.splitlines():
        if "file:function" in line:
            started = True
            continue
        m = rx.match(line) if started else None
        if not m or STACK_FRAMES.search(m.group(2)):
            continue
        rows.append((int(m.group(1).replace(",", "")), m.group(2)))
    return rows


def _lib(fn):
    m = re.search(r"\[(?:.*/)?([^/\]]+)\]$", fn)
    return m.group(1) if m else None


def _fname(fn):
    return re.sub(r"^\S*/", "", fn.split(" [", 1)[0])


def profile(path, n, program):
    """Own instructions per library and the top n functions, and the
    inclusive share of the n costliest functions of `program` itself
    (where in our code the instructions are spent), all in % of the
    dump's instructions."""
    out = {"top": [], "by_library": {}, "our_code_inclusive": []}
    if not shutil.which("callgrind_annotate"):
        return out
    rows = _annotate(path, False)
    tot = sum(ir for ir, _ in rows) or 1
    libs = {}
    for ir, fn in rows:
        lib = re.sub(r"\.so[.\d]*$", "", _lib(fn) or "other")
        if lib == "libc" and "/malloc/" in fn:
            lib = "libc malloc/free"
        libs[lib] = libs.get(lib, 0) + ir
    out["by_library"] = {k: round(100.0 * v / tot, 1) for k, v in
                         sorted(libs.items(), key=lambda kv: -kv[1])
                         if 100.0 * v / tot >= 0.05}
    for ir, fn in rows[:n]:
        out["top"].append({"function": _fname(fn), "library": _lib(fn),
                           "percent": round(100.0 * ir / tot, 1)})
    seen = set()
    for ir, fn in _annotate(path, True):
        name = _fname(fn)
        if _lib(fn) != program or name in seen or "'" in name:
            continue
        seen.add(name)
        out["our_code_inclusive"].append(
            {"function": name, "percent": round(100.0 * ir / tot, 1)})
        if len(out["our_code_inclusive"]) >= n:
            break
    return out
