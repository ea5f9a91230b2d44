// The stream Debian's libasmjit.a writes its diagnostics to, under a name of tramp's own.
//
// That archive is PIE code: globals.cpp.o loads `stderr` PC-relatively (R_X86_64_PC32), which
// works in an executable (the linker copies the variable next to the code) but not in a shared
// object, where libc's `stderr` is in another module. The build links a copy of the archive in
// which that reference is renamed (objcopy --redefine-sym stderr=tramp_asmjit_stderr); this
// hidden definition, in the same module as asmjit's code, is what a PC-relative load can reach.
// It holds libc's stderr as of static initialisation. See docs/building.md.
#include <cstdio>

extern "C" {
__attribute__((visibility("hidden"))) std::FILE* tramp_asmjit_stderr = stderr;
}
