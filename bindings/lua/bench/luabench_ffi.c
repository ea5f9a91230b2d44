/* luabench_ffi.so: the glue of bench.lua's libffi column. ffi_abs() is built by declare()
 * (at declaration time, as tramp.cdef plus the lookup in tramp.C are): the ffi_cif for
 * int(int) is prepared once and kept in the closure's userdata. Per call it does what a
 * minimal binding does for one int argument and an int result: luaL_checkinteger with the
 * int range check, ffi_call, lua_pushinteger. */
#include <ffi.h>
#include <limits.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

typedef struct {
  ffi_cif cif;
  ffi_type* args[1];
  void (*fn)(void);
} Decl;

static int ffi_abs(lua_State* L) {
  Decl* d = lua_touserdata(L, lua_upvalueindex(1));
  lua_Integer v = luaL_checkinteger(L, 1);
  int arg;
  void* args[1] = {&arg};
  ffi_arg ret;
  luaL_argcheck(L, v >= INT_MIN && v <= INT_MAX, 1, "out of range");
  arg = (int)v;
  ffi_call(&d->cif, d->fn, &ret, args);
  lua_pushinteger(L, (int)ret);
  return 1;
}

/* declare(): the function abs through libffi, its cif prepared here, once. */
static int declare(lua_State* L) {
  Decl* d = lua_newuserdatauv(L, sizeof *d, 0);
  d->args[0] = &ffi_type_sint;
  d->fn = (void (*)(void))abs;
  if (ffi_prep_cif(&d->cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, d->args) != FFI_OK)
    return luaL_error(L, "ffi_prep_cif failed");
  lua_pushcclosure(L, ffi_abs, 1);
  return 1;
}

__attribute__((visibility("default"))) int luaopen_luabench_ffi(lua_State* L) {
  static const luaL_Reg fns[] = {{"declare_abs", declare}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
