/* Whether every libffi.so this process has mapped is `dir`/libffi.so.8 (or libffi.so.8.x.y
   there), from /proc/self/maps; says on stderr what it found otherwise. C and C++. */
#ifndef TRAMP_TESTS_FFI_LIBFFI_LOADED_H
#define TRAMP_TESTS_FFI_LIBFFI_LOADED_H

#include <stdio.h>
#include <string.h>

static inline int libffi_loaded_from(const char *dir) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096], want[4096];
  int found = 0;
  snprintf(want, sizeof want, "%s/libffi.so.8", dir);
  while (f && fgets(line, sizeof line, f)) {
    char *path = strchr(line, '/');
    if (path && strstr(path, "libffi.so")) {
      path[strcspn(path, "\n")] = 0;
      if (strncmp(path, want, strlen(want)) != 0 || strchr(path + strlen(want), '/')) {
        fprintf(stderr, "libffi mapped from %s, expected %s\n", path, want);
        fclose(f);
        return 0;
      }
      found = 1;
    }
  }
  if (f) fclose(f);
  if (!found) fprintf(stderr, "no libffi.so.8 mapped (expected %s)\n", want);
  return found;
}

#endif
