"""CPython's own ctypes suite (libpython3.11-testsuite) on the face, checked against the same
suite on Debian's libffi.

regrtest exits 0 when it skips a test module as a whole (test_ctypes is skipped when
ctypes.test does not import), so its status alone proves nothing. This runs regrtest twice,
each time in a child process that first checks which libffi it mapped (loaded.py) and then
writes regrtest's JUnit XML: once with the environment it was given (the face first on
LD_LIBRARY_PATH), once without LD_LIBRARY_PATH (Debian's libffi). It passes only if the face
run exits 0, ran tests, had no failure or error, and every test ended the same way as on
Debian's libffi (495 tests, 81 skipped on Debian 12). It prints the counts of both runs.

    run_test_ctypes.py                       the test
    run_test_ctypes.py --one face|debian XML  one run, in this process (the children)
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import loaded

# regrtest's own limit per run (a traceback and exit when reached); ctest's TIMEOUT covers both.
RUN_TIMEOUT = 240
NAMES = {"face": "the face", "debian": "Debian's libffi"}


def one_run(which, xml):
    import ctypes  # noqa: F401  loads _ctypes, and with it libffi.so.8

    if which == "face":
        loaded.require_face()
    else:
        loaded.require_other()
    from test.libregrtest import main

    verbose = ["-v"] if which == "face" else []
    sys.argv = [sys.argv[0], *verbose, f"--timeout={RUN_TIMEOUT}", f"--junit-xml={xml}", "test_ctypes"]
    main()  # exits with regrtest's status


def outcomes(xml):
    """{test id: outcome} from regrtest's JUnit XML, and the run's error and failure counts
    (those also count failed subtests, which have no element of their own)."""
    root = ET.parse(xml).getroot()
    result, errors, failures = {}, 0, 0
    for suite in root.iter("testsuite"):
        errors += int(suite.get("errors", 0))
        failures += int(suite.get("failures", 0))
        for case in suite.iter("testcase"):
            kinds = {child.tag for child in case} - {"system-out", "system-err"}
            if case.get("outcome") == "UNEXPECTED_SUCCESS":
                kinds.add("unexpected success")
            if "output" in kinds:  # how RegressionTestResult records an expected failure
                kinds = (kinds - {"output"}) | {"expected failure"}
            result[case.get("name")] = "+".join(sorted(kinds)) or "passed"
    return result, errors, failures


def summary(result, errors, failures):
    counts = {}
    for outcome in result.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    parts = [f"{len(result)} tests"] + [f"{n} {outcome}" for outcome, n in sorted(counts.items())]
    return ", ".join(parts) + f"; {errors} errors, {failures} failures"


def run(which, env, tmp, show_output):
    xml = os.path.join(tmp, f"{which}.xml")
    child = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--one", which, xml],
        env=env,
        stdout=None if show_output else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=RUN_TIMEOUT + 60,
    )
    if child.returncode != 0:
        if child.stdout:
            sys.stdout.write(child.stdout)
        sys.exit(f"test_ctypes on {NAMES[which]}: exit status {child.returncode}")
    if not os.path.exists(xml):
        sys.exit(f"test_ctypes on {NAMES[which]}: regrtest wrote no results")
    return outcomes(xml)


def main():
    with tempfile.TemporaryDirectory(prefix="tramp-test-ctypes-") as tmp:
        face, face_errors, face_failures = run("face", dict(os.environ), tmp, show_output=True)
        print(f"test_ctypes on the face: {summary(face, face_errors, face_failures)}")
        if not face:
            sys.exit("test_ctypes on the face ran no tests: skipped as a whole")
        bad = [t for t, o in face.items() if o not in ("passed", "skipped", "expected failure")]
        if bad or face_errors or face_failures:
            sys.exit(f"test_ctypes on the face failed: {bad[:20]}")

        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        debian, debian_errors, debian_failures = run("debian", env, tmp, show_output=False)
        print(f"test_ctypes on Debian's libffi: {summary(debian, debian_errors, debian_failures)}")
        if not debian:
            sys.exit("test_ctypes on Debian's libffi ran no tests: skipped as a whole")

    differ = sorted(t for t in face.keys() | debian.keys() if face.get(t) != debian.get(t))
    for t in differ[:20]:
        print(f"  {t}: {face.get(t, 'not run')} on the face, {debian.get(t, 'not run')} on Debian's libffi")
    if differ:
        sys.exit(f"{len(differ)} tests ended differently on the face and on Debian's libffi")
    print("test_ctypes: every test ended as on Debian's libffi")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one" and sys.argv[2] in ("face", "debian"):
        one_run(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 1:
        main()
    else:
        sys.exit(__doc__)
