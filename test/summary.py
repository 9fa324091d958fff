"""Add up every JUnit XML file in a results directory into one line:
`N passed, N failed[, N skipped]`. Exit 1 if anything failed or nothing ran.
A unit binary that crashed before writing its XML counts as one failure."""
import pathlib
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed = failed = skipped = 0
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return 0, 1, 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    # pytest reports session-level errors (e.g. a fixture teardown) as a
    # testcase with <error>, so they are counted above.
    return passed, failed, skipped


def main(results):
    d = pathlib.Path(results)
    passed = failed = skipped = 0
    for xml in sorted(d.glob("*.xml")):
        p, f, s = count(xml)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    for crash in sorted(d.glob("crash-*.txt")):
        print("crashed:", crash.read_text().strip())
        failed += 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed + failed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/results"))
