"""gobject-introspection through python3-gi: introspected calls (ffi_call, through the
invokers gi prepares with ffi_prep_cif) with integers of every width, doubles, floats,
enums, strings, out arguments and records, and Python callbacks handed to C (libffi closures:
a comparator, source functions, a child watch, an async callback). Every result is checked,
and every callback is counted. A check records its failure rather than raising: gi prints and
swallows an exception raised in a callback."""
import os
import sys
import tempfile

import loaded
import gi

gi.require_version("GLib", "2.0")
gi.require_version("GObject", "2.0")
gi.require_version("Gio", "2.0")
from gi.repository import GLib, GObject, Gio  # noqa: E402

loaded.require_face()

checks = 0
failures = []


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        failures.append(what)
        print(f"CHECK failed: {what}: got {got!r}, expected {want!r}", file=sys.stderr)


# Calls: strings, integer widths and signedness, doubles, enums and flags, out arguments.
check("utf8_strlen", GLib.utf8_strlen("h\u00e9llo", -1), 5)
check("utf8_substring", GLib.utf8_substring("h\u00e9llo w", 1, 4), "\u00e9ll")
check("base64_encode", GLib.base64_encode(b"tramp"), "dHJhbXA=")
check("str_has_prefix", GLib.str_has_prefix("tramp face", "tramp"), True)
check("str_has_suffix", GLib.str_has_suffix("tramp face", "tramp"), False)
check("markup_escape_text", GLib.markup_escape_text("<a&b>", -1), "&lt;a&amp;b&gt;")
check("ascii_strncasecmp", GLib.ascii_strncasecmp("ABCd", "abce", 3), 0)
check("ascii_digit_value (gchar)", GLib.ascii_digit_value(ord("7")), 7)
check("ascii_xdigit_value (gchar)", GLib.ascii_xdigit_value(ord("f")), 15)
check("unichar_toupper (gunichar)", GLib.unichar_toupper("q"), "Q")
check("unichar_get_script (enum result)", GLib.unichar_get_script("\u0436"), GLib.UnicodeScript.CYRILLIC)
check("bit_nth_msf (gulong, gint)", GLib.bit_nth_msf(0b1011, -1), 3)
check("bit_storage (gulong)", GLib.bit_storage(1 << 40), 41)
check("ascii_strtod (double, out string)", tuple(GLib.ascii_strtod("2.75xyz")), (2.75, "xyz"))
check("ascii_strtoll (gint64)", tuple(GLib.ascii_strtoll("-12345678901 rest", 10)), (-12345678901, " rest"))
check("ascii_strtoull (guint64)", tuple(GLib.ascii_strtoull("ffffffffffffffff", 16)), (2**64 - 1, ""))
check("format_size_full (guint64, flags)", GLib.format_size_full(1234567, GLib.FormatSizeFlags.IEC_UNITS), "1.2\u00a0MiB")
check("compute_checksum_for_string (enum, string, gssize)",
      GLib.compute_checksum_for_string(GLib.ChecksumType.SHA256, "tramp", -1),
      "12246ef4801bc0ca82cb07c2f0cddf15cb991cb5c61ba7d56c869a9fc2f55fa7")

# A record: GDate, built from guint8, an enum and guint16.
date = GLib.Date.new_dmy(28, GLib.DateMonth.FEBRUARY, 2024)
check("Date julian (guint32)", date.get_julian(), 738944)
check("Date weekday", date.get_weekday(), GLib.DateWeekday.WEDNESDAY)
date.add_days(1)
check("Date after add_days", (date.get_day(), date.get_month(), date.get_year()), (29, GLib.DateMonth.FEBRUARY, 2024))
check("Date.get_days_in_month (static)", GLib.Date.get_days_in_month(GLib.DateMonth.FEBRUARY, 2023), 28)

# GVariant: each element made and read back by its own typed constructor and getter.
limits = (255, 65535, -32768, -(2**63), 2**64 - 1, 1e300, "s", True)
check("Variant (yqnxtdsb)", GLib.Variant("(yqnxtdsb)", limits).unpack(), limits)
check("Variant ad", GLib.Variant("ad", [1.5, -2.25]).unpack(), [1.5, -2.25])
check("Variant print", GLib.Variant("(iudsb)", (-5, 7, 2.5, "s", True)).print_(True), "(-5, uint32 7, 2.5, 's', true)")

# GValue: float, signed char and unsigned long in and out.
value = GObject.Value(GObject.TYPE_FLOAT)
value.set_float(-1.25)
check("Value float", value.get_float(), -1.25)
value = GObject.Value(GObject.TYPE_CHAR)
value.set_schar(-100)
check("Value schar", value.get_schar(), -100)
value = GObject.Value(GObject.TYPE_ULONG)
value.set_ulong(2**64 - 2)
check("Value ulong", value.get_ulong(), 2**64 - 2)

# Callbacks from C into Python.
calls = {}


def called(name, *args):
    calls[name] = calls.get(name, 0) + 1
    return args


# A comparator (GCompareDataFunc: two pointers and user data in, gint out), from g_list_store_sort
# and g_list_store_insert_sorted.
class Item(GObject.Object):
    value = GObject.Property(type=int)


def compare(a, b, tag):
    called("compare")
    check("comparator user data", tag, "by value")
    return (a.value > b.value) - (a.value < b.value)


store = Gio.ListStore.new(Item)
for v in [5, -3, 9, 1, 7, 0]:
    store.append(Item(value=v))
store.sort(compare, "by value")
store.insert_sorted(Item(value=4), compare, "by value")
check("sorted store", [store.get_item(i).value for i in range(store.get_n_items())], [-3, 0, 1, 4, 5, 7, 9])
check("the comparator ran", calls.get("compare", 0) >= 6, True)

# Source functions on a main loop: an idle handler, a timeout, a child watch (GPid and the wait
# status in), an async read's GAsyncReadyCallback (two objects in).
loop = GLib.MainLoop()
order = []


def idle(tag):
    called("idle")
    order.append(tag)
    return False


def timeout():
    called("timeout")
    order.append("timeout")
    return False


def child_exited(pid, status, tag):
    called("child")
    check("child watch pid", pid, child)
    check("child exit status", os.waitstatus_to_exitcode(status), 3)
    order.append(tag)


def contents_loaded(source, result, tag):
    called("async")
    check("async source", source.get_path(), path)
    ok, contents, _etag = source.load_contents_finish(result)
    check("async contents", (ok, contents), (True, b"tramp\0face"))
    order.append(tag)


def quit_when_done():
    if len(order) == 4:
        loop.quit()
        return False
    return True


fd, path = tempfile.mkstemp(prefix="tramp-gi-")
try:
    os.write(fd, b"tramp\0face")
    os.close(fd)
    child, *_ = GLib.spawn_async(["/bin/sh", "-c", "exit 3"], flags=GLib.SpawnFlags.DO_NOT_REAP_CHILD)
    # At PRIORITY_HIGH the idle source runs in the loop's first iteration, before a timeout
    # that is already due: the order checked below holds however loaded the machine is.
    check("idle_add source id", GLib.idle_add(idle, "idle", priority=GLib.PRIORITY_HIGH) > 0, True)
    GLib.timeout_add(10, timeout)
    GLib.child_watch_add(GLib.PRIORITY_DEFAULT, child, child_exited, "child")
    Gio.File.new_for_path(path).load_contents_async(None, contents_loaded, "async")
    GLib.timeout_add(5, quit_when_done)
    give_up = GLib.timeout_add_seconds(30, loop.quit)
    loop.run()
    GLib.source_remove(give_up)
finally:
    os.unlink(path)
check("main loop callbacks", sorted(order), ["async", "child", "idle", "timeout"])
check("idle before timeout", order.index("idle") < order.index("timeout"), True)


# A GObject signal with arguments and a return value, emitted from C.
class Emitter(GObject.Object):
    __gsignals__ = {
        "mix": (GObject.SignalFlags.RUN_LAST, float, (int, float, str, bool)),
    }


def on_mix(obj, i, d, s, b):
    called("signal")
    check("signal arguments", (i, d, s, b), (7, 0.5, "four", True))
    return i + d + len(s) + (10 if b else 0)


emitter = Emitter()
emitter.connect("mix", on_mix)
check("signal result", emitter.emit("mix", 7, 0.5, "four", True), 21.5)

check("callbacks", {k: v for k, v in calls.items() if k != "compare"},
      {"idle": 1, "timeout": 1, "child": 1, "async": 1, "signal": 1})
print(f"gi client: {checks} checks, callbacks {dict(sorted(calls.items()))}")
if failures:
    sys.exit(f"gi client: {len(failures)} checks failed: {', '.join(failures)}")
print("gi client: all checks passed")
