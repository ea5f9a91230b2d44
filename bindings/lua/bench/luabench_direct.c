/* luabench_direct.so: the floor for bench.lua, a plain Lua C function that calls abs itself.
 * The argument conversion and the result push are the ones a hand-written binding would do
 * for `int abs(int)`: luaL_checkinteger with the int range check, lua_pushinteger. abs is
 * called through a volatile pointer so that gcc cannot replace it with its builtin. */
#include <limits.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

static int (*volatile target)(int) = abs;

static int direct_abs(lua_State* L) {
  lua_Integer v = luaL_checkinteger(L, 1);
  luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, 1, "out of range");
  lua_pushinteger(L, target((int)v));
  return 1;
}

static int direct_empty(lua_State* L) {
  (void)L;
  return 0;
}

__attribute__((visibility("default"))) int luaopen_luabench_direct(lua_State* L) {
  static const luaL_Reg fns[] = {{"direct_abs", direct_abs}, {"empty", direct_empty}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
