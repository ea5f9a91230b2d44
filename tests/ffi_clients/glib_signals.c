/* GLib's generic marshaller: signals created without a C marshaller, and a closure given
   g_cclosure_marshal_generic directly, call their handlers through libffi's ffi_call
   (gobject/gclosure.c). Every handler checks every argument it receives and counts its calls;
   main checks every result and every count, so a handler that never ran fails the test. The
   libffi.so.8 the process maps must be the one in the directory in argv[1] (the face), both
   compared with symlinks resolved; the message when it is not is the one the negative
   controls look for (CMakeLists.txt). */
#include <glib-object.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;
static void check(int ok, const char *what) {
  ++checks;
  if (!ok) {
    fprintf(stderr, "CHECK failed: %s\n", what);
    ++failures;
  }
}

/* The libffi files in /proc/self/maps, by real path: 0 and a message unless the only one is
   dir/libffi.so.8 (libgobject-2.0 needs libffi.so.8, so it is mapped before main). */
static int face_is_loaded(const char *dir) {
  char want[PATH_MAX], face[PATH_MAX], line[PATH_MAX + 256];
  snprintf(want, sizeof want, "%s/libffi.so.8", dir);
  if (!realpath(want, face)) {
    fprintf(stderr, "no face at %s\n", want);
    return 0;
  }
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps) {
    perror("/proc/self/maps");
    return 0;
  }
  GPtrArray *mapped = g_ptr_array_new_with_free_func(g_free); /* distinct real paths */
  while (fgets(line, sizeof line, maps)) {
    line[strcspn(line, "\n")] = 0;
    int at = -1; /* address perms offset dev inode, then the path, which may contain spaces */
    sscanf(line, "%*s %*s %*s %*s %*s %n", &at);
    if (at < 0 || !line[at]) continue;
    const char *path = line + at, *base = strrchr(path, '/');
    if (!base || strncmp(base + 1, "libffi.so", 9) != 0) continue;
    char real[PATH_MAX];
    const char *name = realpath(path, real) ? real : path; /* " (deleted)": no such file */
    gboolean seen = FALSE;
    for (guint i = 0; i < mapped->len; ++i) seen |= strcmp(mapped->pdata[i], name) == 0;
    if (!seen) g_ptr_array_add(mapped, g_strdup(name));
  }
  fclose(maps);
  int ok = mapped->len == 1 && strcmp(mapped->pdata[0], face) == 0;
  if (ok) {
    printf("libffi: %s (the face)\n", face);
  } else {
    g_ptr_array_add(mapped, NULL);
    char *list = g_strjoinv(", ", (char **)mapped->pdata);
    fprintf(stderr, "libffi.so.8 is not the face: mapped %s; expected only %s\n", *list ? list : "no libffi at all",
            face);
    g_free(list);
  }
  g_ptr_array_unref(mapped);
  return ok;
}

typedef enum { COLOUR_DARK = -5, COLOUR_LIGHT = 3 } Colour;
typedef enum { OPT_LOW = 1, OPT_HIGH = (int)0x80000000u } Opt;
static GType colour_get_type(void) {
  static GType type;
  static const GEnumValue values[] = {
      {COLOUR_DARK, "COLOUR_DARK", "dark"}, {COLOUR_LIGHT, "COLOUR_LIGHT", "light"}, {0, NULL, NULL}};
  if (!type) type = g_enum_register_static("TrampColour", values);
  return type;
}
static GType opt_get_type(void) {
  static GType type;
  static const GFlagsValue values[] = {{OPT_LOW, "OPT_LOW", "low"}, {OPT_HIGH, "OPT_HIGH", "high"}, {0, NULL, NULL}};
  if (!type) type = g_flags_register_static("TrampOpt", values);
  return type;
}

typedef struct { GObject parent; } Emitter;
typedef struct { GObjectClass parent; } EmitterClass;
G_DEFINE_TYPE(Emitter, emitter, G_TYPE_OBJECT)
static guint sig_mix, sig_flag, sig_sum, sig_wide, sig_text, sig_poke;
static void emitter_init(Emitter *e) { (void)e; }
static void emitter_class_init(EmitterClass *k) {
  GType t = G_TYPE_FROM_CLASS(k);
  /* c_marshaller NULL: GLib uses g_cclosure_marshal_generic */
  sig_mix = g_signal_new("mix", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_DOUBLE, 6, G_TYPE_INT,
                         G_TYPE_DOUBLE, G_TYPE_STRING, G_TYPE_POINTER, G_TYPE_BOOLEAN, G_TYPE_INT64);
  sig_flag = g_signal_new("flag", t, G_SIGNAL_RUN_LAST, 0, g_signal_accumulator_true_handled, NULL, NULL,
                          G_TYPE_BOOLEAN, 1, G_TYPE_UINT);
  sig_sum = g_signal_new("sum", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_INT, 3, G_TYPE_CHAR, G_TYPE_FLOAT,
                         G_TYPE_LONG);
  /* More integer and floating-point arguments than registers (the instance and the user data
     count too), a float result. */
  sig_wide = g_signal_new("wide", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_FLOAT, 17, G_TYPE_UCHAR,
                          G_TYPE_ULONG, G_TYPE_UINT64, colour_get_type(), opt_get_type(), G_TYPE_OBJECT,
                          G_TYPE_STRING, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE,
                          G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_DOUBLE, G_TYPE_INT, G_TYPE_FLOAT);
  sig_text = g_signal_new("text", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_STRING, 2, G_TYPE_INT64,
                          G_TYPE_DOUBLE);
  sig_poke = g_signal_new("poke", t, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static int marker;
static Emitter *emitter;
static int mix_calls, flag_first_calls, flag_second_calls, sum_calls, wide_calls, text_calls, poke_calls;

static double on_mix(Emitter *e, int i, double d, const char *s, gpointer p, gboolean b, gint64 big, gpointer user) {
  ++mix_calls;
  check(e == emitter, "mix: the instance");
  check(i == -7, "mix: int");
  check(d == 0.25, "mix: double");
  check(s && strcmp(s, "tramp") == 0, "mix: string");
  check(p == &marker, "mix: pointer");
  check(b == TRUE, "mix: boolean");
  check(big == (G_GINT64_CONSTANT(1) << 40), "mix: int64");
  check(user == &failures, "mix: user data");
  return i + d + (double)strlen(s) + (double)(big >> 40);
}
static gboolean on_flag_first(Emitter *e, guint u, gpointer user) {
  ++flag_first_calls;
  check(e == emitter && u == 0xFFFFFFF0u && user == &flag_first_calls, "flag, first handler: the arguments");
  return FALSE; /* not handled: the next handler runs */
}
static gboolean on_flag_second(Emitter *e, guint u, gpointer user) {
  ++flag_second_calls;
  check(e == emitter && u == 0xFFFFFFF0u && user == &flag_second_calls, "flag, second handler: the arguments");
  return TRUE;
}
static int on_sum(Emitter *e, char c, float f, long l, gpointer user) {
  ++sum_calls;
  check(e == emitter, "sum: the instance");
  check(c == 5, "sum: char");
  check(f == 2.5f, "sum: float");
  check(l == -100L, "sum: long");
  check(user == NULL, "sum: user data");
  return c + (int)f + (int)l;
}
static float on_wide(Emitter *e, guchar uc, gulong ul, guint64 u64, Colour colour, Opt opt, GObject *obj,
                     const char *s, double d1, double d2, double d3, double d4, double d5, double d6, double d7,
                     double d8, int i, float f, gpointer user) {
  ++wide_calls;
  check(e == emitter, "wide: the instance");
  check(uc == 250, "wide: unsigned char");
  check(ul == ULONG_MAX - 1, "wide: unsigned long");
  check(u64 == G_MAXUINT64 - 2, "wide: uint64");
  check(colour == COLOUR_DARK, "wide: enum with a negative value");
  check((guint)opt == (OPT_LOW | 0x80000000u), "wide: flags with the top bit");
  check(obj == (GObject *)emitter, "wide: object");
  check(s && strcmp(s, "wide") == 0, "wide: string");
  check(d1 == 1.0 && d2 == -2.0 && d3 == 3.5 && d4 == -4.5, "wide: doubles 1-4");
  check(d5 == 1e300 && d6 == -1e-300 && d7 == 0.125 && d8 == 8.0, "wide: doubles 5-8");
  check(i == -123456, "wide: int on the stack");
  check(f == 0.5f, "wide: float on the stack");
  check(user == &wide_calls, "wide: user data on the stack");
  return (float)(d3 + d8) + f;
}
static char *on_text(Emitter *e, gint64 v, double d, gpointer user) {
  ++text_calls;
  check(e == emitter && v == G_MININT64 && d == -0.5 && user == &text_calls, "text: the arguments");
  return g_strdup_printf("%" G_GINT64_FORMAT " %.1f", v, d);
}
/* connected swapped: the user data comes first and the instance last */
static void on_poke(gpointer user, int n, Emitter *e) {
  ++poke_calls;
  check(user == &poke_calls && n == 42 && e == emitter, "poke (swapped): the arguments");
}
static int direct_calls;
static void on_direct(gpointer data, int a, double b, gpointer user) {
  ++direct_calls;
  check(data == &marker && a == 3 && b == 1.5 && user == &direct_calls, "closure: the handler's arguments");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIRECTORY-OF-THE-FACE\n", argv[0]);
    return 2;
  }
  if (!face_is_loaded(argv[1])) return 1;

  emitter = g_object_new(emitter_get_type(), NULL);
  Emitter *e = emitter;
  g_signal_connect(e, "mix", G_CALLBACK(on_mix), &failures);
  double r = 0;
  g_signal_emit(e, sig_mix, 0, -7, 0.25, "tramp", &marker, TRUE, G_GINT64_CONSTANT(1) << 40, &r);
  check(r == -7 + 0.25 + 5 + 1, "mix: the result");

  g_signal_connect(e, "flag", G_CALLBACK(on_flag_first), &flag_first_calls);
  g_signal_connect(e, "flag", G_CALLBACK(on_flag_second), &flag_second_calls);
  gboolean handled = FALSE;
  g_signal_emit(e, sig_flag, 0, 0xFFFFFFF0u, &handled);
  check(handled == TRUE, "flag: accumulated result");

  g_signal_connect(e, "sum", G_CALLBACK(on_sum), NULL);
  int s = 0;
  g_signal_emit(e, sig_sum, 0, (char)5, 2.5f, -100L, &s);
  check(s == 5 + 2 - 100, "sum: the result");

  g_signal_connect(e, "wide", G_CALLBACK(on_wide), &wide_calls);
  float w = 0;
  g_signal_emit(e, sig_wide, 0, (guchar)250, ULONG_MAX - 1, G_MAXUINT64 - 2, COLOUR_DARK, OPT_LOW | OPT_HIGH, e,
                "wide", 1.0, -2.0, 3.5, -4.5, 1e300, -1e-300, 0.125, 8.0, -123456, 0.5, &w);
  check(w == 12.0f, "wide: the float result");

  g_signal_connect(e, "text", G_CALLBACK(on_text), &text_calls);
  char *text = NULL;
  g_signal_emit(e, sig_text, 0, G_MININT64, -0.5, &text);
  check(text && strcmp(text, "-9223372036854775808 -0.5") == 0, "text: the string result");
  g_free(text);

  g_signal_connect_swapped(e, "poke", G_CALLBACK(on_poke), &poke_calls);
  for (int i = 0; i < 3; ++i) g_signal_emit(e, sig_poke, 0, 42);

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
  g_closure_unref(c);
  g_object_unref(e);

  /* Every handler ran as often as it was emitted: a check inside a handler that never ran
     cannot pass by not running. */
  check(mix_calls == 1, "mix: the handler ran once");
  check(flag_first_calls == 1 && flag_second_calls == 1, "flag: both handlers ran once");
  check(sum_calls == 1, "sum: the handler ran once");
  check(wide_calls == 1, "wide: the handler ran once");
  check(text_calls == 1, "text: the handler ran once");
  check(poke_calls == 3, "poke: the handler ran three times");
  check(direct_calls == 1000, "closure: called every time");
  if (failures) {
    fprintf(stderr, "glib client: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("glib client: all %d checks passed (%d handler calls)\n", checks,
         mix_calls + flag_first_calls + flag_second_calls + sum_calls + wide_calls + text_calls + poke_calls +
             direct_calls);
  return 0;
}
