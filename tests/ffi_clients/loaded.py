"""Which libffi this process mapped. The Python clients call require_face() once libffi is
loaded: it exits with an error unless the only libffi file in /proc/self/maps is the face, the
libffi.so.8 in the directory TRAMP_FFI_EXPECT_DIR names. Both sides are compared with symlinks
resolved: the kernel names a mapping by its real path, and the directory may be reached
through a link (or be a build tree under one)."""
import os
import sys

# The words the negative controls look for (CMakeLists.txt); glib_signals.c and
# fiddle_client.rb print the same.
NOT_THE_FACE = "libffi.so.8 is not the face"


def face_path():
    """The real path of the face: TRAMP_FFI_EXPECT_DIR/libffi.so.8 with links resolved."""
    directory = os.environ.get("TRAMP_FFI_EXPECT_DIR")
    if not directory:
        sys.exit("TRAMP_FFI_EXPECT_DIR is not set: the directory of the face's libffi.so.8")
    path = os.path.join(directory, "libffi.so.8")
    if not os.path.isfile(path):
        sys.exit(f"no face at {path}")
    return os.path.realpath(path)


def mapped_libffi():
    """The real paths of the libffi files this process maps, sorted. A file deleted since it was
    mapped keeps the kernel's " (deleted)" suffix, so it never equals a file on disk."""
    paths = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            # address perms offset dev inode path; a path may contain spaces
            fields = line.rstrip("\n").split(maxsplit=5)
            if len(fields) == 6 and os.path.basename(fields[5]).startswith("libffi.so"):
                paths.add(os.path.realpath(fields[5]))
    return sorted(paths)


def require_face():
    """Exit with an error unless the face is the one libffi mapped."""
    face = face_path()
    paths = mapped_libffi()
    if paths != [face]:
        mapped = ", ".join(paths) if paths else "no libffi at all"
        sys.exit(f"{NOT_THE_FACE}: mapped {mapped}; expected only {face}")
    print(f"libffi: {face} (the face)", flush=True)


def require_other():
    """Exit with an error unless exactly one libffi is mapped and it is not the face: for a
    reference run on the system's libffi."""
    face = face_path()
    paths = mapped_libffi()
    if len(paths) != 1 or paths[0] == face:
        sys.exit(f"expected one libffi other than the face {face}, mapped {paths}")
    print(f"libffi: {paths[0]} (not the face)", flush=True)
