"""gobject-introspection through python3-gi: introspected calls (ffi_call) and Python callbacks
handed to C (libffi closures), every result checked."""
import loaded
import gi

gi.require_version("GLib", "2.0")
gi.require_version("GObject", "2.0")
from gi.repository import GLib, GObject  # noqa: E402

loaded.require_face()

assert GLib.utf8_strlen("h\u00e9llo", -1) == 5
assert GLib.base64_encode(b"tramp") == "dHJhbXA="
assert GLib.str_has_prefix("tramp face", "tramp")
assert GLib.markup_escape_text("<a&b>", -1) == "&lt;a&amp;b&gt;"

# Callbacks from C into Python: an idle handler and a timeout on a main loop.
loop = GLib.MainLoop()
seen = []


def idle(tag):
    seen.append(tag)
    return False


def timeout():
    seen.append("timeout")
    loop.quit()
    return False


GLib.idle_add(idle, "idle")
GLib.timeout_add(10, timeout)
loop.run()
assert seen == ["idle", "timeout"], seen


# A GObject signal with arguments and a return value, emitted from C.
class Emitter(GObject.Object):
    __gsignals__ = {
        "mix": (GObject.SignalFlags.RUN_LAST, float, (int, float, str, bool)),
    }


e = Emitter()
got = []


def on_mix(obj, i, d, s, b):
    got.append((i, d, s, b))
    return i + d + len(s) + (10 if b else 0)


e.connect("mix", on_mix)
r = e.emit("mix", 7, 0.5, "four", True)
assert got == [(7, 0.5, "four", True)], got
assert r == 21.5, r
print("gi client: all checks passed")
