"""On PYTHONPATH for the control ffi_python_test_ctypes_skipped_whole (CMakeLists.txt):
ctypes.test cannot be imported, so regrtest skips test_ctypes as a whole and exits 0, as it
would if the suite were missing; run_test_ctypes.py must fail all the same."""
import sys

sys.modules["ctypes.test"] = None
