-- The Lua binding's checks, run by ctest with LUA_CPATH at the built tramp.so. Every check
-- raises an error when wrong, so the script fails.
local tramp = require "tramp"

-- raises(f, pattern): f fails with a message matching pattern (plain text)
local function raises(f, pattern, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error matching '" .. pattern .. "'")
  assert(tostring(err):find(pattern, 1, true), "error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
  return err
end

tramp.cdef [[
  double hypot(double, double);
  size_t strlen(const char* s);
  int snprintf(char* buf, size_t size, const char* format, ...);
  char* getenv(const char* name);
  void qsort(void* base, size_t n, size_t size, int (*compare)(const void*, const void*));
  typedef struct { int quot; int rem; } div_t;
  typedef struct { long quot; long rem; } ldiv_t;
  div_t div(int, int);
  ldiv_t ldiv(long, long);
  struct in_addr { uint32_t s_addr; };
  char* inet_ntoa(struct in_addr in);
  uint32_t htonl(uint32_t);
  int open(const char* path, int flags, ...);
  int abs(int);
  int no_such_function_anywhere(void);
  int compare_ints(const void*, const void*);
]]

local m = tramp.load("libm.so.6")
local C = tramp.C

-- floats
assert(m.hypot(3, 4) == 5, "hypot")
assert(m.hypot(1.5, 2) == 2.5, "hypot floats")

-- strings in, integers out
assert(C.strlen("hello") == 5, "strlen")
assert(C.strlen("") == 0, "strlen empty")

-- variadic: an integer after ... is a long long, a float a double, a string a pointer
local buf = tramp.new("i8[64]")
local n = C.snprintf(buf, 64, "%lld|%.2f|%s|%d", 42, 2.5, "str", -7)
assert(tramp.string(buf) == "42|2.50|str|-7", "snprintf: " .. tramp.string(buf))
assert(n == #"42|2.50|str|-7", "snprintf count")

-- char* result: a Lua string, NULL -> nil
assert(C.getenv("TRAMP_LUA_TEST_VAR") == nil, "getenv unset")
assert(type(C.getenv("PATH")) == "string", "getenv PATH")

-- qsort with a Lua comparator
local calls = 0
local compare = tramp.callback("int compare_ints(const void*, const void*)", function(a, b)
  calls = calls + 1
  local x, y = tramp.read(a, "i32"), tramp.read(b, "i32")
  return x < y and -1 or (x > y and 1 or 0)
end)
local values = tramp.new("i32[6]", {5, -3, 9, 0, 2, -8})
C.qsort(values, 6, 4, compare)
local sorted = tramp.read(values)
assert(table.concat(sorted, ",") == "-8,-3,0,2,5,9", "qsort: " .. table.concat(sorted, ","))
assert(calls > 0, "the comparator ran")
-- a callback from a signature string works too
local cmp2 = tramp.callback("i32(ptr, ptr)", function(a, b) return tramp.read(b, "i32") - tramp.read(a, "i32") end)
C.qsort(values, 6, 4, cmp2)
assert(table.concat(tramp.read(values), ",") == "9,5,2,0,-3,-8", "qsort descending")

-- structs returned as tables by member name
local d = C.div(17, 5)
assert(d.quot == 3 and d.rem == 2, "div")
local ld = C.ldiv(-9000000000, 7)
assert(ld.quot == -1285714285 and ld.rem == -5, "ldiv")

-- a struct by value from a table
assert(C.inet_ntoa({s_addr = C.htonl(0x7f000001)}) == "127.0.0.1", "inet_ntoa")
assert(C.inet_ntoa({s_addr = C.htonl(0xc0a80102)}) == "192.168.1.2", "inet_ntoa 2")

-- errno after a failing call
assert(C.open("/nonexistent/tramp/file", 0) == -1, "open fails")
assert(tramp.errno() == 2, "errno is ENOENT, got " .. tramp.errno())

-- integer conversions are checked
assert(C.abs(-5) == 5, "abs")
assert(C.abs(-5.0) == 5, "an integral float is an integer")
raises(function() C.abs(2.5) end, "abs: argument 1: expected an integer, got 2.5")
raises(function() C.abs("5") end, "abs: argument 1: expected an integer, got string")
raises(function() C.abs(2 ^ 31 // 1) end, "abs: argument 1: 2147483648 is out of range")
raises(function() C.htonl(-1) end, "htonl: argument 1: -1 is out of range (0 to 4294967295)")
raises(function() m.hypot("x", 1) end, "hypot: argument 1: expected a number, got string")

-- clear errors: a typo in a declaration, a missing symbol, an undeclared name, argument count
raises(function() tramp.cdef "double cbrt(double;" end, "tramp.cdef: line 1, column")
raises(function() return C.no_such_function_anywhere end, "no_such_function_anywhere")
raises(function() return C.never_declared end, "'never_declared' is not declared (tramp.cdef)")
raises(function() m.hypot(1) end, "hypot: expected 2 argument(s), got 1")
raises(function() m.hypot(1, 2, 3) end, "hypot: expected 2 argument(s), got 3")
raises(function() C.snprintf(buf) end, "snprintf: expected at least 3 argument(s), got 1")
raises(function() tramp.load("libdoes-not-exist.so.9") end, "libdoes-not-exist.so.9")
raises(function() tramp.callback("int (broken", print) end, "tramp.callback")

-- an error inside a callback is caught in the thunk and raised after the native call returns
local failing = tramp.callback("int compare_ints(const void*, const void*)", function()
  error("comparator exploded")
end)
raises(function() C.qsort(values, 6, 4, failing) end, "comparator exploded")
-- a wrong result type inside a callback too
local wrong = tramp.callback("i32(ptr, ptr)", function() return "no" end)
raises(function() C.qsort(values, 6, 4, wrong) end, "callback result: expected an integer")
-- and the binding still works afterwards
C.qsort(values, 6, 4, compare)
assert(table.concat(tramp.read(values), ",") == "-8,-3,0,2,5,9", "qsort after a failing callback")

print("lua binding: all checks passed")
