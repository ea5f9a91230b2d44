"""Which libffi.so.8 this process mapped: the clients' tests import this and fail unless it is
the one in the directory given by TRAMP_FFI_EXPECT_DIR."""
import os
import sys


def require_face():
    want = os.environ["TRAMP_FFI_EXPECT_DIR"].rstrip("/") + "/libffi.so.8"
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "/libffi.so" in line}
    if not paths or any(not p.startswith(want) or "/" in p[len(want):] for p in paths):
        sys.exit(f"libffi mapped from {sorted(paths)}, expected {want}")
    print(f"libffi: {sorted(paths)[0]}")
