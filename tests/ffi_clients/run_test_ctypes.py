"""CPython's own ctypes suite (libpython3.11-testsuite), run by regrtest in this process after
checking that the libffi it uses is the expected one: `python3 -m test test_ctypes` with a
check in front."""
import sys
import ctypes  # noqa: F401  loads _ctypes, and with it libffi.so.8

import loaded

loaded.require_face()
from test.libregrtest import main  # noqa: E402

sys.argv = [sys.argv[0], "-v", "test_ctypes"]
main()  # exits with regrtest's status
