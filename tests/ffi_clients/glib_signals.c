/* GLib's generic marshaller: signals created without a C marshaller, and a closure given
   g_cclosure_marshal_generic directly, call their handlers through libffi's ffi_call
   (gobject/gclosure.c). Every argument the handlers receive and every result is checked, and
   the libffi.so.8 in the process must come from the directory in argv[1]. */
#include <glib-object.h>
#include <stdio.h>
#include <string.h>

static int failures;
static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "CHECK failed: %s\n", what);
    ++failures;
  }
}

typedef struct { GObject parent; } Emitter;
typedef struct { GObjectClass parent; } EmitterClass;
G_DEFINE_TYPE(Emitter, emitter, G_TYPE_OBJECT)
static guint sig_mix, sig_flag, sig_sum;
static void emitter_init(Emitter *e) { (void)e; }
static void emitter_class_init(EmitterClass *k) {
  /* c_marshaller NULL: GLib uses g_cclosure_marshal_generic */
  sig_mix = g_signal_new("mix", G_TYPE_FROM_CLASS(k), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_DOUBLE, 6,
                         G_TYPE_INT, G_TYPE_DOUBLE, G_TYPE_STRING, G_TYPE_POINTER, G_TYPE_BOOLEAN, G_TYPE_INT64);
  sig_flag = g_signal_new("flag", G_TYPE_FROM_CLASS(k), G_SIGNAL_RUN_LAST, 0, g_signal_accumulator_true_handled,
                          NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_UINT);
  sig_sum = g_signal_new("sum", G_TYPE_FROM_CLASS(k), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_INT, 3,
                         G_TYPE_CHAR, G_TYPE_FLOAT, G_TYPE_LONG);
}

static int marker;
static double on_mix(Emitter *e, int i, double d, const char *s, gpointer p, gboolean b, gint64 big, gpointer user) {
  (void)e;
  check(i == -7 && d == 0.25 && strcmp(s, "tramp") == 0 && p == &marker && b && big == (G_GINT64_CONSTANT(1) << 40),
        "mix: the handler's arguments");
  check(user == &failures, "mix: user data");
  return i + d + (double)strlen(s) + (double)(big >> 40);
}
static int flag_calls;
static gboolean on_flag_first(Emitter *e, guint u, gpointer user) {
  (void)e; (void)user;
  ++flag_calls;
  check(u == 0xFFFFFFF0u, "flag: the argument");
  return FALSE; /* not handled: the next handler runs */
}
static gboolean on_flag_second(Emitter *e, guint u, gpointer user) {
  (void)e; (void)u; (void)user;
  ++flag_calls;
  return TRUE;
}
static int on_sum(Emitter *e, char c, float f, long l, gpointer user) {
  (void)e; (void)user;
  return c + (int)f + (int)l;
}
static int direct_calls;
static void on_direct(gpointer data, int a, double b, gpointer user) {
  check(data == &marker && a == 3 && b == 1.5 && user == &direct_calls, "closure: the handler's arguments");
  ++direct_calls;
}

static int loaded_from(const char *dir) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  int ok = 0, bad = 0;
  size_t n = strlen(dir);
  while (f && fgets(line, sizeof line, f)) {
    char *path = strchr(line, '/');
    if (!path || !strstr(path, "/libffi.so")) continue;
    path[strcspn(path, "\n")] = 0;
    if (strncmp(path, dir, n) == 0 && strncmp(path + n, "/libffi.so.8", 12) == 0) ok = 1;
    else { fprintf(stderr, "libffi mapped from %s, expected %s\n", path, dir); bad = 1; }
  }
  if (f) fclose(f);
  return ok && !bad;
}

int main(int argc, char **argv) {
  Emitter *e = g_object_new(emitter_get_type(), NULL);
  g_signal_connect(e, "mix", G_CALLBACK(on_mix), &failures);
  double r = 0;
  g_signal_emit(e, sig_mix, 0, -7, 0.25, "tramp", &marker, TRUE, G_GINT64_CONSTANT(1) << 40, &r);
  check(r == -7 + 0.25 + 5 + 1, "mix: the result");

  g_signal_connect(e, "flag", G_CALLBACK(on_flag_first), NULL);
  g_signal_connect(e, "flag", G_CALLBACK(on_flag_second), NULL);
  gboolean handled = FALSE;
  g_signal_emit(e, sig_flag, 0, 0xFFFFFFF0u, &handled);
  check(handled && flag_calls == 2, "flag: accumulated result");

  g_signal_connect(e, "sum", G_CALLBACK(on_sum), NULL);
  int s = 0;
  g_signal_emit(e, sig_sum, 0, (char)5, 2.5f, -100L, &s);
  check(s == 5 + 2 - 100, "sum: the result");

  /* A closure with the generic marshaller, invoked directly */
  GClosure *c = g_cclosure_new(G_CALLBACK(on_direct), &direct_calls, NULL);
  g_closure_set_marshal(c, g_cclosure_marshal_generic);
  GValue args[3] = {G_VALUE_INIT, G_VALUE_INIT, G_VALUE_INIT};
  g_value_init(&args[0], G_TYPE_POINTER);
  g_value_set_pointer(&args[0], &marker);
  g_value_init(&args[1], G_TYPE_INT);
  g_value_set_int(&args[1], 3);
  g_value_init(&args[2], G_TYPE_DOUBLE);
  g_value_set_double(&args[2], 1.5);
  for (int i = 0; i < 1000; ++i) g_closure_invoke(c, NULL, 3, args, NULL);
  check(direct_calls == 1000, "closure: called every time");
  g_closure_unref(c);
  g_object_unref(e);

  /* after the calls: libgobject loads libffi.so.8 as its dependency, so it is mapped now */
  if (argc > 1 && !loaded_from(argv[1])) return 1;
  if (failures) return 1;
  printf("glib client: all checks passed\n");
  return 0;
}
