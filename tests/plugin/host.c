/* Loads a plugin (tests/plugin/plugin.cpp) with dlopen, as an interpreter loads an extension
 * module, and calls its plugin_run(). The host itself links nothing of tramp.
 *   tramp_plugin_host PATH */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
    return 2;
  }
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  int (*run)(void) = (int (*)(void))dlsym(h, "plugin_run");
  if (!run) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  int status = run();
  if (status != 0) {
    fprintf(stderr, "%s: plugin_run failed at step %d\n", argv[1], status);
    return 1;
  }
  printf("%s: stub and callback work\n", argv[1]);
  return 0; /* not unloaded, as interpreters keep extension modules: tramp's engine lives on */
}
