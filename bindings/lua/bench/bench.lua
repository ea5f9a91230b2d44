-- The Lua binding's cost per call: abs(x) from Lua through tramp.C.abs, through a plain Lua C
-- function calling abs (luabench_direct), through the same glue over libffi (luabench_ffi),
-- and an empty Lua function as the floor. Run by bindings/lua/bench/bench.sh:
--   lua5.4 bench.lua [N [REPS]]     (defaults 1000000 and 7)
-- Each repetition times N calls of every engine in turn (os.clock, the process's CPU time);
-- a cell is the median repetition's ns per call and its ratio to the direct module. A
-- measurement only: nothing here asserts on a time.
local N = math.tointeger(tonumber(arg[1] or "1000000"))
local REPS = math.tointeger(tonumber(arg[2] or "7"))
assert(N and N > 0 and REPS and REPS > 0, "usage: lua5.4 bench.lua [N [REPS]]")

local tramp = require "tramp"
local direct = require "luabench_direct"
local ffi = require "luabench_ffi"

tramp.cdef "int abs(int);"
local engines = {
  {name = "empty Lua function", f = function(x) return x end},
  {name = "empty C function", f = direct.empty},
  {name = "direct C module", f = direct.direct_abs},
  {name = "tramp binding", f = tramp.C.abs},   -- looked up once, as a local would be
  {name = "libffi glue", f = ffi.declare_abs()},
}

-- Every engine that computes abs must agree before anything is timed.
for _, e in ipairs(engines) do
  if e.name ~= "empty Lua function" and e.name ~= "empty C function" then
    for _, x in ipairs {0, 1, -1, 7, -123456, 2147483647, -2147483647} do
      local got = e.f(x)
      assert(got == math.abs(x), e.name .. ": abs(" .. x .. ") gave " .. tostring(got))
    end
  end
end

local function time(f)
  local t0 = os.clock()
  for i = 1, N do f(-i) end
  return (os.clock() - t0) * 1e9 / N
end

local samples = {}
for _, e in ipairs(engines) do samples[e] = {} time(e.f) end -- warm-up
for _ = 1, REPS do
  for _, e in ipairs(engines) do table.insert(samples[e], time(e.f)) end
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

local base
for _, e in ipairs(engines) do
  e.ns = median(samples[e])
  if e.name == "direct C module" then base = e.ns end
end
print(string.format("%s, N = %d calls per repetition, median of %d repetitions", _VERSION, N, REPS))
print("| engine | ns per call | ratio to direct C module |")
print("|---|---:|---:|")
for _, e in ipairs(engines) do
  print(string.format("| %s | %.2f | %.2fx |", e.name, e.ns, e.ns / base))
end
print("lua bench: completed")
