#!/usr/bin/python3
"""What a ctypes call costs from Debian's python3, on Debian's libffi and on tramp's libffi face.

  ctypes_bench.py run --callee LIB --expect-libffi PATH [-n N] [--only ROW,...] [--json]
      one process, one libffi: times N calls of every row below (or of the rows named) and
      prints ns per call. It fails unless /proc/self/maps shows that the libffi.so.8 this
      process loaded is PATH (the same file once symbolic links are resolved), and unless
      every result is right.
  ctypes_bench.py compare [--build DIR] [-n N] [--rounds R]
      runs `run` in fresh processes, alternately on Debian's libffi (LD_LIBRARY_PATH unset)
      and on the face (DIR/ffi first on LD_LIBRARY_PATH), R rounds of each, and prints a
      table of the medians: Debian ns, face ns, Debian / face.

Rows: a Python loop with no call in it and a call of Python's builtin abs (what the loop and a
call of any C function cost without an FFI); libc's `int abs(int)` and bench/ctypes_callee.c's
`double six(int, double, void*, long, float, int)` through ctypes, argtypes and restype set; a
Python function called from a Python loop, and the same function as a ctypes callback
(CFUNCTYPE) that C code (`call_n`) calls N times. Run it with /usr/bin/python3: Debian's
_ctypes is the one linked to libffi.so.8.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import sysconfig
import time

DEBIAN_PYTHON = "/usr/bin/python3"
WARMUP = 1000

# (key, what the row does); the keys are the JSON fields `run --json` prints.
ROWS = [
    ("loop", "Python loop, no call"),
    ("builtin_abs", "Python's builtin abs(-i) (no FFI)"),
    ("ctypes_abs", "ctypes: libc abs(int)"),
    ("ctypes_six", "ctypes: six(int, double, void*, long, float, int)"),
    ("python_callee", "Python function long(long) from Python"),
    ("ctypes_callback", "ctypes callback long(long) called from C"),
]


def mapped_libffi():
    """The libffi files this process has mapped, from /proc/self/maps."""
    with open("/proc/self/maps") as maps:
        fields = (line.split() for line in maps)
        return sorted({f[-1] for f in fields if len(f) >= 6 and "/libffi.so" in f[-1]})


def require_libffi(expected):
    paths = mapped_libffi()
    want = os.path.realpath(expected)
    if not paths or any(os.path.realpath(p) != want for p in paths):
        sys.exit(f"ctypes_bench: libffi mapped from {paths}, expected {expected} ({want})")
    return paths[0]


def time_loop(n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        -i
    return time.perf_counter_ns() - t0


def time_builtin_abs(n):
    f = abs
    t0 = time.perf_counter_ns()
    for i in range(n):
        f(-i)
    return time.perf_counter_ns() - t0


def time_abs(f, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        f(-i)
    return time.perf_counter_ns() - t0


def time_six(f, p, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        f(i, 0.5, p, 3, 0.25, 7)
    return time.perf_counter_ns() - t0


def time_python_callee(g, n):
    t0 = time.perf_counter_ns()
    for i in range(n):
        g(i)
    return time.perf_counter_ns() - t0


def time_callback(call_n, cb, n):
    t0 = time.perf_counter_ns()
    total = call_n(cb, n)
    elapsed = time.perf_counter_ns() - t0
    assert total == n * (n + 1) // 2, (total, n)
    return elapsed


def inc(x):
    return x + 1


def run(args):
    n = args.n
    assert n > 0
    libc = ctypes.CDLL("libc.so.6")
    c_abs = libc.abs
    c_abs.argtypes = [ctypes.c_int]
    c_abs.restype = ctypes.c_int
    callee = ctypes.CDLL(args.callee)
    six = callee.six
    six.argtypes = [ctypes.c_int, ctypes.c_double, ctypes.c_void_p, ctypes.c_long,
                    ctypes.c_float, ctypes.c_int]
    six.restype = ctypes.c_double
    CALLBACK = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_long)
    call_n = callee.call_n
    call_n.argtypes = [CALLBACK, ctypes.c_long]
    call_n.restype = ctypes.c_long
    cb = CALLBACK(inc)
    buf = ctypes.create_string_buffer(8)
    p = ctypes.addressof(buf)

    # ctypes is imported and has made calls: libffi is mapped, and must be the expected one.
    libffi = require_libffi(args.expect_libffi)

    # Every call's result is right before anything is timed.
    for v in (0, 1, -1, -7, 123456, 2**31 - 1, -(2**31 - 1)):
        assert c_abs(v) == abs(v), v
    assert six(1, 0.5, p, 3, 0.25, 7) == 12.75
    assert six(-2, 1.5, None, 10, 0.5, 4) == 14.0
    assert six(2**31 - 1, -0.5, p, -(2**40), 1.5, -3) == (2**31 - 1) - 0.5 + 1 - 2**40 + 1.5 - 3
    assert call_n(cb, 10) == 55
    assert call_n(cb, 0) == 0

    timers = {
        "loop": lambda k: time_loop(k),
        "builtin_abs": lambda k: time_builtin_abs(k),
        "ctypes_abs": lambda k: time_abs(c_abs, k),
        "ctypes_six": lambda k: time_six(six, p, k),
        "python_callee": lambda k: time_python_callee(inc, k),
        "ctypes_callback": lambda k: time_callback(call_n, cb, k),
    }
    keys = [key for key, _ in ROWS]
    if args.only:
        keys = args.only.split(",")
        assert all(key in timers for key in keys), keys
    ns = {}
    for key in keys:
        timers[key](min(n, WARMUP))
        ns[key] = timers[key](n) / n
    # The last arguments of the timed loops, once more with their results checked.
    assert c_abs(-(n - 1)) == n - 1
    assert six(n - 1, 0.5, p, 3, 0.25, 7) == (n - 1) + 11.75
    assert require_libffi(args.expect_libffi) == libffi

    if args.json:
        print(json.dumps({"libffi": libffi, "n": n, "python": sys.version.split()[0], "ns": ns}))
    else:
        print(f"python {sys.version.split()[0]}, libffi {libffi}, N = {n}")
        for key, what in ROWS:
            if key in ns:
                print(f"{what:<52} {ns[key]:9.1f} ns per call")


def child(python, script, callee, expect, n, env):
    out = subprocess.run(
        [python, script, "run", "--callee", callee, "--expect-libffi", expect, "-n", str(n),
         "--json"], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    result = json.loads(out)
    for key, _ in ROWS:
        v = result["ns"][key]
        if not (math.isfinite(v) and v > 0):
            sys.exit(f"ctypes_bench: {key} = {v} ns on {result['libffi']}")
    return result


def cell(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def compare(args):
    build = os.path.abspath(args.build)
    face = os.path.abspath(args.face_dir or os.path.join(build, "ffi"))
    callee = os.path.abspath(args.callee or os.path.join(build, "bench", "libctypes_callee.so"))
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    debian_ffi = args.debian_libffi or f"/usr/lib/{multiarch}/libffi.so.8"
    face_ffi = os.path.join(face, "libffi.so.8")
    for path in (args.python, debian_ffi, face_ffi, callee):
        if not os.path.exists(path):
            sys.exit(f"ctypes_bench: {path} does not exist")
    if os.path.realpath(debian_ffi) == os.path.realpath(face_ffi):
        sys.exit(f"ctypes_bench: {debian_ffi} and {face_ffi} are the same file")

    base = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
    runs = {
        "debian": (debian_ffi, base),
        "face": (face_ffi, dict(base, LD_LIBRARY_PATH=face)),
    }
    script = os.path.abspath(__file__)
    results = {"debian": [], "face": []}
    for r in range(args.rounds):
        # Alternate which library goes first, so that a drift of the machine's speed during
        # a round falls on both.
        for name in (("debian", "face") if r % 2 == 0 else ("face", "debian")):
            expect, env = runs[name]
            results[name].append(child(args.python, script, callee, expect, args.n, env))

    python = results["debian"][0]["python"]
    print(f"ctypes, N = {args.n} calls per row, {args.rounds} rounds per library, "
          f"{args.python} (Python {python}); ns per call, median of the rounds (min-max)")
    print(f"Debian: {results['debian'][0]['libffi']}; face: {results['face'][0]['libffi']}")
    print()
    print("| row | Debian libffi ns | libffi face ns | Debian / face |")
    print("|---|---:|---:|---:|")
    for key, what in ROWS:
        d = [res["ns"][key] for res in results["debian"]]
        f = [res["ns"][key] for res in results["face"]]
        print(f"| {what} | {cell(d)} | {cell(f)} | "
              f"{statistics.median(d) / statistics.median(f):.2f}x |")
    print()
    print(f"ctypes bench: completed on both libraries ({args.rounds} rounds each)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="one process, one libffi")
    p_run.add_argument("--callee", required=True, help="the built bench/ctypes_callee.c")
    p_run.add_argument("--expect-libffi", required=True,
                       help="the libffi.so.8 this process must have loaded")
    p_run.add_argument("-n", type=int, default=1000000, help="calls per row")
    p_run.add_argument("--only", help="comma-separated row keys to time (default: all)")
    p_run.add_argument("--json", action="store_true")
    p_cmp = sub.add_parser("compare", help="Debian's libffi against the face, alternating")
    p_cmp.add_argument("--build", default="build", help="tramp's build tree (default: build)")
    p_cmp.add_argument("--face-dir", help="the face's directory (default: BUILD/ffi)")
    p_cmp.add_argument("--callee", help="default: BUILD/bench/libctypes_callee.so")
    p_cmp.add_argument("--debian-libffi", help="default: /usr/lib/MULTIARCH/libffi.so.8")
    p_cmp.add_argument("--python", default=DEBIAN_PYTHON, help=f"default: {DEBIAN_PYTHON}")
    p_cmp.add_argument("-n", type=int, default=1000000, help="calls per row")
    p_cmp.add_argument("--rounds", type=int, default=5, help="processes per library")
    args = parser.parse_args()
    (run if args.command == "run" else compare)(args)


if __name__ == "__main__":
    main()
