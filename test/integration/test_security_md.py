"""Every test SECURITY.md names exists: a promise whose proof was renamed
or deleted must not keep citing it (issue 16, point 6)."""
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]


def _test_sources():
    return {p: p.read_text(errors="replace") for p in (REPO / "test").rglob("*")
            if p.suffix in (".py", ".c") and p.is_file()}


def test_every_named_test_file_and_function_exists():
    text = (REPO / "SECURITY.md").read_text()
    files = set(re.findall(r"`(test/[\w/.-]+\.(?:py|c))`", text))
    names = set(re.findall(r"`(test_\w+)`", text))
    # bare file names given after a path was named once
    bare = {n for n in re.findall(r"`(test_\w+\.(?:py|c))`", text)}
    assert files, "SECURITY.md names no test files"
    missing = [f for f in sorted(files) if not (REPO / f).is_file()]
    srcs = _test_sources()
    by_name = {p.name for p in srcs}
    missing += [b for b in sorted(bare) if b not in by_name]
    blob = "\n".join(srcs.values())
    for n in sorted(names):
        if not re.search(rf"\b(def|void|static void)\s+{n}\b|\b{n}\s*\(", blob):
            missing.append(n)
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
