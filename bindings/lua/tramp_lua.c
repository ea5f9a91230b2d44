/* tramp's Lua 5.4 module: call C functions declared at run time, make Lua functions into C
 * function pointers. The reference for how an interpreter embeds tramp (docs/embedding.md):
 * it uses only the public C API (tramp.h).
 *
 *   local tramp = require "tramp"
 *   tramp.cdef [[ double hypot(double, double); ]]
 *   local m = tramp.load("libm.so.6")
 *   print(m.hypot(3, 4))   --> 5.0
 *
 * Conversions go by declared type: integers (range-checked), floating, bool, pointers (nil,
 * light userdata, a string's bytes, a tramp.new buffer, a tramp.callback), records (tables by
 * member name) and arrays (sequences). After `...`: an integer is passed as long long, a float
 * as double, a boolean as int, a string or anything else as a pointer. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <tramp/tramp.h>

#define LIB_MT "tramp.library"
#define FUNC_MT "tramp.function"
#define CB_MT "tramp.callback"
#define BUF_MT "tramp.buffer"
#define MAX_ARGS 64

static tramp_scope* scope; /* module-wide: every tramp.cdef adds to it, in every Lua state */

typedef struct {
  tramp_library* lib;
} Library;

typedef struct {
  const tramp_type* type;
  tramp_type_kind kind;
  size_t size, offset; /* offset: in the call's argument block */
} Arg;

/* Everything a call needs, worked out once when the function is looked up. */
typedef struct {
  tramp_cfunction* decl;
  tramp_signature* sig; /* the declared one (fixed arguments only when variadic), errno captured */
  tramp_invoke_fn call; /* NULL when variadic: made per call */
  void* fn;
  const char* name;
  size_t fixed;
  int variadic, c_string;
  const tramp_type* ret;
  tramp_type_kind ret_kind;
  size_t ret_room; /* the return value's size rounded up to 16, at least 16 */
  size_t total;    /* the fixed arguments' bytes */
  Arg arg[];       /* the fixed arguments */
} Function;

typedef struct {
  tramp_callback* cb;
  tramp_signature* sig;
  int ref; /* the Lua function, in the registry */
} Callback;

typedef struct {
  const tramp_type* type;
  size_t size;
  unsigned char* data; /* aligned into the userdata's own block */
} Buffer;

/* The Lua state of the innermost native call made through this module on this thread, and
 * whether a callback of it failed: a thunk never unwinds, so the error waits in the registry
 * (key &pending) until the native call returns. */
static _Thread_local lua_State* calling;
static _Thread_local int failed;
static char pending;

static int fail_tramp(lua_State* L, const char* what) {
  return luaL_error(L, "%s: %s", what, tramp_last_error());
}

/* Raises "<where>name: argument arg: <fmt...>" ("name: <fmt...>" when arg is 0): the context
 * is formatted only when a conversion fails, never on the way of a call that succeeds. */
static int arg_error(lua_State* L, const char* name, int arg, const char* fmt, ...) {
  va_list ap;
  luaL_where(L, 1);
  if (arg) lua_pushfstring(L, "%s: argument %d: ", name, arg);
  else lua_pushfstring(L, "%s: ", name);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 3);
  return lua_error(L);
}

/* ---- C values <-> Lua values ---- */

static const tramp_type* lookup_type(lua_State* L, const char* name) {
  const tramp_type* t = scope ? tramp_scope_type(scope, name) : NULL;
  if (!t && tramp_type_parse(name, TRAMP_ABI_HOST, &t) != TRAMP_OK) fail_tramp(L, name);
  return t;
}

static void* align_up(void* p, size_t a) {
  return (void*)(((uintptr_t)p + a - 1) & ~(uintptr_t)(a - 1));
}

/* Keeps the string at idx alive for the call: in the table at stack slot `anchor`, made on
 * first use where the slot holds nil. */
static void anchor_string(lua_State* L, int idx, int anchor) {
  if (lua_type(L, anchor) != LUA_TTABLE) {
    lua_newtable(L);
    lua_replace(L, anchor);
  }
  lua_pushvalue(L, idx);
  lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
}

static void to_c(lua_State* L, int idx, const tramp_type* t, void* dst, int anchor, const char* name, int arg);

/* Writes the Lua value at idx as a `t` (of kind `kind` and `size` bytes) at dst (zeroed by the
 * caller); errors name `name` and argument `arg` (none when 0). Strings it points to are
 * kept in the table at slot `anchor` for the duration of the call; a negative anchor means
 * the value at idx is itself held by the stack (a call's argument) and only the strings in
 * it need anchoring, at slot -anchor. */
static void to_c_kind(lua_State* L, int idx, const tramp_type* t, tramp_type_kind kind, size_t size, void* dst,
                      int anchor, const char* name, int arg) {
  int self = anchor > 0;
  if (anchor < 0) anchor = -anchor;
  idx = lua_absindex(L, idx);
  switch (kind) {
  case TRAMP_KIND_BOOL: *(unsigned char*)dst = (unsigned char)lua_toboolean(L, idx); return;
  case TRAMP_KIND_I8: case TRAMP_KIND_U8: case TRAMP_KIND_I16: case TRAMP_KIND_U16:
  case TRAMP_KIND_I32: case TRAMP_KIND_U32: case TRAMP_KIND_I64: case TRAMP_KIND_U64: {
    static const long long lo[] = {INT8_MIN, 0, INT16_MIN, 0, INT32_MIN, 0, INT64_MIN, 0};
    static const long long hi[] = {INT8_MAX, UINT8_MAX, INT16_MAX, UINT16_MAX, INT32_MAX, UINT32_MAX,
                                   INT64_MAX, INT64_MAX};
    int k = kind - TRAMP_KIND_I8, ok = 0;
    lua_Integer v = lua_type(L, idx) == LUA_TNUMBER ? lua_tointegerx(L, idx, &ok) : 0;
    if (!ok) {
      arg_error(L, name, arg, "expected an integer, got %s",
                 lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
      return;
    }
    if (v < lo[k] || v > hi[k]) {
      arg_error(L, name, arg, "%I is out of range (%I to %I)", v, (lua_Integer)lo[k], (lua_Integer)hi[k]);
      return;
    }
    switch (size) {
    case 1: *(int8_t*)dst = (int8_t)v; break;
    case 2: *(int16_t*)dst = (int16_t)v; break;
    case 4: *(int32_t*)dst = (int32_t)v; break;
    default: *(int64_t*)dst = (int64_t)v; break;
    }
    return;
  }
  case TRAMP_KIND_F32: case TRAMP_KIND_F64: case TRAMP_KIND_F80: {
    lua_Number v;
    if (lua_type(L, idx) != LUA_TNUMBER) {
      arg_error(L, name, arg, "expected a number, got %s", luaL_typename(L, idx));
      return;
    }
    v = lua_tonumber(L, idx);
    if (kind == TRAMP_KIND_F32) *(float*)dst = (float)v;
    else if (kind == TRAMP_KIND_F64) *(double*)dst = v;
    else *(long double*)dst = v;
    return;
  }
  case TRAMP_KIND_POINTER: {
    const void* p = NULL;
    Buffer* b;
    Callback* c;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: break;
    case LUA_TLIGHTUSERDATA: p = lua_touserdata(L, idx); break;
    case LUA_TSTRING:
      p = lua_tostring(L, idx);
      if (self) anchor_string(L, idx, anchor);
      break;
    case LUA_TUSERDATA:
      if ((b = luaL_testudata(L, idx, BUF_MT))) p = b->data;
      else if ((c = luaL_testudata(L, idx, CB_MT))) p = tramp_callback_code(c->cb);
      else p = lua_touserdata(L, idx);
      break;
    default: arg_error(L, name, arg, "expected a pointer (nil, userdata, string), got %s", luaL_typename(L, idx));
    }
    memcpy(dst, &p, sizeof p);
    return;
  }
  case TRAMP_KIND_STRUCT: case TRAMP_KIND_UNION: {
    size_t i, n = tramp_type_field_count(t), offset;
    const tramp_type* member;
    const char* name;
    luaL_checktype(L, idx, LUA_TTABLE);
    for (i = 0; i < n; ++i) {
      size_t bits;
      tramp_type_field(t, i, &member, &offset, &name);
      tramp_type_field_bits(t, i, &bits, NULL, NULL);
      if (bits != TRAMP_NOT_BIT_FIELD) arg_error(L, name, arg, "the binding cannot convert bit-field members");
      if (name) lua_getfield(L, idx, name);
      else lua_rawgeti(L, idx, (lua_Integer)i + 1);
      if (!lua_isnil(L, -1)) to_c(L, -1, member, (unsigned char*)dst + offset, anchor, name, arg);
      lua_pop(L, 1);
    }
    return;
  }
  case TRAMP_KIND_ARRAY: {
    const tramp_type* element;
    size_t i, count, size;
    luaL_checktype(L, idx, LUA_TTABLE);
    tramp_type_element(t, &element, &count);
    size = tramp_type_size(element);
    if (lua_rawlen(L, idx) > count)
      arg_error(L, name, arg, "%d elements for an array of %d", (int)lua_rawlen(L, idx), (int)count);
    for (i = 0; i < count; ++i) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      if (!lua_isnil(L, -1)) to_c(L, -1, element, (unsigned char*)dst + i * size, anchor, name, arg);
      lua_pop(L, 1);
    }
    return;
  }
  default: {
    char text[64];
    tramp_type_format(t, text, sizeof text);
    arg_error(L, name, arg, "the binding cannot convert %s", text);
  }
  }
}

static void to_c(lua_State* L, int idx, const tramp_type* t, void* dst, int anchor, const char* name, int arg) {
  tramp_type_kind kind;
  tramp_type_kind_of(t, &kind);
  to_c_kind(L, idx, t, kind, tramp_type_size(t), dst, anchor, name, arg);
}

static void from_c(lua_State* L, const tramp_type* t, const void* src);

/* Pushes the `t` (of kind `kind`) at src as a Lua value. */
static void from_c_kind(lua_State* L, const tramp_type* t, tramp_type_kind kind, const void* src) {
  switch (kind) {
  case TRAMP_KIND_VOID: lua_pushnil(L); return;
  case TRAMP_KIND_BOOL: lua_pushboolean(L, *(const unsigned char*)src != 0); return;
  case TRAMP_KIND_I8: lua_pushinteger(L, *(const int8_t*)src); return;
  case TRAMP_KIND_U8: lua_pushinteger(L, *(const uint8_t*)src); return;
  case TRAMP_KIND_I16: lua_pushinteger(L, *(const int16_t*)src); return;
  case TRAMP_KIND_U16: lua_pushinteger(L, *(const uint16_t*)src); return;
  case TRAMP_KIND_I32: lua_pushinteger(L, *(const int32_t*)src); return;
  case TRAMP_KIND_U32: lua_pushinteger(L, *(const uint32_t*)src); return;
  case TRAMP_KIND_I64: lua_pushinteger(L, *(const int64_t*)src); return;
  case TRAMP_KIND_U64: { /* above 2^63 - 1: a float */
    uint64_t v = *(const uint64_t*)src;
    if (v <= INT64_MAX) lua_pushinteger(L, (lua_Integer)v);
    else lua_pushnumber(L, (lua_Number)v);
    return;
  }
  case TRAMP_KIND_F32: lua_pushnumber(L, *(const float*)src); return;
  case TRAMP_KIND_F64: lua_pushnumber(L, *(const double*)src); return;
  case TRAMP_KIND_F80: lua_pushnumber(L, (lua_Number) * (const long double*)src); return;
  case TRAMP_KIND_POINTER: {
    void* p;
    memcpy(&p, src, sizeof p);
    if (p) lua_pushlightuserdata(L, p);
    else lua_pushnil(L);
    return;
  }
  case TRAMP_KIND_STRUCT: case TRAMP_KIND_UNION: {
    size_t i, n = tramp_type_field_count(t), offset;
    const tramp_type* member;
    const char* name;
    lua_createtable(L, 0, (int)n);
    for (i = 0; i < n; ++i) {
      size_t bits;
      tramp_type_field(t, i, &member, &offset, &name);
      tramp_type_field_bits(t, i, &bits, NULL, NULL);
      if (bits != TRAMP_NOT_BIT_FIELD) luaL_error(L, "the binding cannot convert bit-field members");
      from_c(L, member, (const unsigned char*)src + offset);
      if (name) lua_setfield(L, -2, name);
      else lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return;
  }
  case TRAMP_KIND_ARRAY: {
    const tramp_type* element;
    size_t i, count;
    tramp_type_element(t, &element, &count);
    lua_createtable(L, (int)count, 0);
    for (i = 0; i < count; ++i) {
      from_c(L, element, (const unsigned char*)src + i * tramp_type_size(element));
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return;
  }
  default: luaL_error(L, "the binding cannot convert this return type");
  }
}

static void from_c(lua_State* L, const tramp_type* t, const void* src) {
  tramp_type_kind kind;
  tramp_type_kind_of(t, &kind);
  from_c_kind(L, t, kind, src);
}

/* ---- calls ---- */

static void reraise_pending(lua_State* L) {
  if (!failed) return;
  failed = 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pending);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &pending);
  lua_error(L);
}

/* The argument block (the arguments, then the return value at 16) lives in this many bytes
 * on the C stack when it fits, in a Lua userdata when it does not. */
#define STACK_BLOCK 256

static int function_call(lua_State* L) {
  Function* f = lua_touserdata(L, lua_upvalueindex(1)); /* ours: library_index made it */
  int n = lua_gettop(L), i, anchor;
  size_t count = (size_t)n, total = f->total, need;
  size_t offsets[MAX_ARGS]; /* of the arguments after `...` */
  const tramp_type* types[MAX_ARGS];
  void* args[MAX_ARGS];
  _Alignas(16) unsigned char stack[STACK_BLOCK];
  unsigned char *block = stack, *ret;
  tramp_invoke_fn call = f->call;
  lua_State* outer;

  if (f->variadic ? count < f->fixed : count != f->fixed)
    return luaL_error(L, "%s: expected %s%d argument(s), got %d", f->name, f->variadic ? "at least " : "",
                      (int)f->fixed, n);
  if (count > MAX_ARGS) return luaL_error(L, "%s: more than %d arguments", f->name, MAX_ARGS);
  if (!call) { /* variadic: after `...` the types the Lua values have, and a signature per call */
    tramp_signature* sig;
    tramp_status s;
    for (i = (int)f->fixed; i < n; ++i) {
      int t = lua_type(L, i + 1);
      size_t a;
      types[i] = tramp_type_scalar(t == LUA_TNUMBER ? (lua_isinteger(L, i + 1) ? TRAMP_I64 : TRAMP_F64)
                                   : t == LUA_TBOOLEAN ? TRAMP_I32 : TRAMP_POINTER);
      a = tramp_type_align(types[i]);
      total = (total + a - 1) / a * a;
      offsets[i] = total;
      total += tramp_type_size(types[i]);
    }
    s = tramp_signature_with_variadic(f->sig, types + f->fixed, count - f->fixed, &sig);
    if (s == TRAMP_OK) s = tramp_signature_set_errno(sig, TRAMP_ERRNO_CAPTURE);
    if (s == TRAMP_OK) s = tramp_invoker(sig, &call); /* cached: valid after the free */
    tramp_signature_free(sig);
    if (s != TRAMP_OK) return fail_tramp(L, f->name);
  }
  total = (total + 15) / 16 * 16;
  need = total + f->ret_room;
  if (need > sizeof stack) block = align_up(lua_newuserdatauv(L, need + 16, 0), 16);
  memset(block, 0, need);
  ret = block + total;
  lua_pushnil(L); /* the slot of the string anchor table, made only if a table holds a string */
  anchor = lua_gettop(L);
  for (i = 0; i < (int)f->fixed; ++i) {
    const Arg* a = &f->arg[i];
    args[i] = block + a->offset;
    to_c_kind(L, i + 1, a->type, a->kind, a->size, args[i], -anchor, f->name, i + 1);
  }
  for (; i < n; ++i) {
    tramp_type_kind kind;
    tramp_type_kind_of(types[i], &kind);
    args[i] = block + offsets[i];
    to_c_kind(L, i + 1, types[i], kind, tramp_type_size(types[i]), args[i], -anchor, f->name, i + 1);
  }
  outer = calling;
  calling = L;
  call(f->fn, ret, args);
  calling = outer;
  reraise_pending(L);
  if (f->c_string) {
    const char* s;
    memcpy(&s, ret, sizeof s);
    if (s) lua_pushstring(L, s);
    else lua_pushnil(L);
  } else {
    from_c_kind(L, f->ret, f->ret_kind, ret);
  }
  return 1;
}

static int function_gc(lua_State* L) {
  Function* f = luaL_checkudata(L, 1, FUNC_MT);
  tramp_signature_free(f->sig);
  tramp_cfunction_free(f->decl);
  f->sig = NULL;
  f->decl = NULL;
  return 0;
}

/* lib.name: the function declared as `name`, found in the library; cached in the library's
 * user value. Its argument types, kinds, sizes and offsets are worked out here, once. */
static int library_index(lua_State* L) {
  Library* lib = luaL_checkudata(L, 1, LIB_MT);
  const char* name = luaL_checkstring(L, 2);
  tramp_cfunction* decl;
  tramp_signature* sig;
  Function* f;
  size_t fixed, i, total = 0;
  int variadic;
  lua_getiuservalue(L, 1, 1);
  if (lua_getfield(L, -1, name) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  if (!scope || tramp_scope_cfunction(scope, name, &decl) != TRAMP_OK)
    return luaL_error(L, "tramp: '%s' is not declared (tramp.cdef)", name);
  if (tramp_cfunction_signature(decl, &sig)) {
    tramp_cfunction_free(decl);
    return fail_tramp(L, name);
  }
  if (tramp_signature_fixed_count(sig, &fixed)) {
    tramp_signature_free(sig);
    tramp_cfunction_free(decl);
    return fail_tramp(L, name);
  }
  f = lua_newuserdatauv(L, sizeof *f + fixed * sizeof f->arg[0], 1);
  memset(f, 0, sizeof *f);
  f->decl = decl;
  f->sig = sig;
  f->fixed = fixed;
  luaL_setmetatable(L, FUNC_MT);
  lua_pushvalue(L, 1); /* the function keeps its library open */
  lua_setiuservalue(L, -2, 1);
  if (tramp_cfunction_name(f->decl, &f->name) || tramp_cfunction_returns_c_string(f->decl, &f->c_string) ||
      tramp_signature_is_variadic(f->sig, &variadic) || tramp_signature_set_errno(f->sig, TRAMP_ERRNO_CAPTURE) ||
      (!variadic && tramp_invoker(f->sig, &f->call)) || tramp_library_symbol(lib->lib, name, &f->fn) ||
      tramp_signature_return(f->sig, &f->ret) || tramp_type_kind_of(f->ret, &f->ret_kind))
    return fail_tramp(L, name);
  f->variadic = variadic;
  f->ret_room = (tramp_type_size(f->ret) + 15) / 16 * 16;
  if (!f->ret_room) f->ret_room = 16;
  for (i = 0; i < fixed; ++i) {
    Arg* a = &f->arg[i];
    size_t align;
    if (tramp_signature_arg(f->sig, i, &a->type) || tramp_type_kind_of(a->type, &a->kind)) return fail_tramp(L, name);
    a->size = tramp_type_size(a->type);
    align = tramp_type_align(a->type);
    total = (total + align - 1) / align * align;
    a->offset = total;
    total += a->size;
  }
  f->total = total;
  lua_pushcclosure(L, function_call, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

static int library_gc(lua_State* L) {
  Library* lib = luaL_checkudata(L, 1, LIB_MT);
  tramp_library_close(lib->lib);
  lib->lib = NULL;
  return 0;
}

static int open_library(lua_State* L, const char* name) {
  Library* lib = lua_newuserdatauv(L, sizeof *lib, 1);
  lib->lib = NULL;
  luaL_setmetatable(L, LIB_MT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  if (tramp_library_open(name, &lib->lib) != TRAMP_OK) return fail_tramp(L, name ? name : "tramp.C");
  return 1;
}

static int l_load(lua_State* L) { return open_library(L, luaL_checkstring(L, 1)); }

static int l_cdef(lua_State* L) {
  const char* source = luaL_checkstring(L, 1);
  if (!scope && tramp_scope_new(TRAMP_ABI_HOST, &scope) != TRAMP_OK) return fail_tramp(L, "tramp.cdef");
  if (tramp_scope_parse(scope, source) != TRAMP_OK) return fail_tramp(L, "tramp.cdef");
  return 0;
}

static int l_errno(lua_State* L) {
  lua_pushinteger(L, tramp_last_errno());
  return 1;
}

/* ---- callbacks ---- */

/* Runs inside lua_pcall: converts the arguments, calls the Lua function, converts its result. */
static int callback_body(lua_State* L) {
  Callback* c = lua_touserdata(L, 1);
  void* ret = lua_touserdata(L, 2);
  void* const* args = lua_touserdata(L, 3);
  const tramp_type *rt, *t;
  tramp_type_kind kind;
  size_t i, n;
  tramp_signature_arg_count(c->sig, &n);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
  for (i = 0; i < n; ++i) {
    tramp_signature_arg(c->sig, i, &t);
    from_c(L, t, args[i]);
  }
  lua_call(L, (int)n, 1);
  tramp_signature_return(c->sig, &rt);
  tramp_type_kind_of(rt, &kind);
  if (kind != TRAMP_KIND_VOID) {
    lua_newtable(L); /* a string a callback returns would not outlive it: refused */
    if (kind == TRAMP_KIND_POINTER && lua_type(L, -2) == LUA_TSTRING) return luaL_error(L, "callback: cannot return a Lua string as a pointer");
    to_c(L, -2, rt, ret, lua_gettop(L), "callback result", 0);
  }
  return 0;
}

/* The thunk's handler: never lets a Lua error unwind through native frames. */
static void callback_handler(void* ret, void* const* args, void* user) {
  Callback* c = user;
  lua_State* L = calling;
  const tramp_type* rt;
  tramp_signature_return(c->sig, &rt);
  memset(ret, 0, tramp_type_size(rt));
  if (!L || failed) return; /* outside a call from Lua, or an earlier callback failed */
  lua_pushcfunction(L, callback_body);
  lua_pushlightuserdata(L, c);
  lua_pushlightuserdata(L, ret);
  lua_pushlightuserdata(L, (void*)args);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    lua_rawsetp(L, LUA_REGISTRYINDEX, &pending);
    failed = 1;
    memset(ret, 0, tramp_type_size(rt));
  }
}

/* tramp.callback(decl, fn): decl is a function declared by tramp.cdef, a C declaration
 * ("int cmp(const void*, const void*)") or a signature ("i32(ptr, ptr)"). */
static int l_callback(lua_State* L) {
  const char* decl = luaL_checkstring(L, 1);
  Callback* c;
  tramp_cfunction* f = NULL;
  int is_c = 0;
  tramp_status s;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  c = lua_newuserdatauv(L, sizeof *c, 0);
  c->cb = NULL;
  c->sig = NULL;
  c->ref = LUA_NOREF;
  luaL_setmetatable(L, CB_MT);
  if (scope && tramp_scope_cfunction(scope, decl, &f) == TRAMP_OK) s = TRAMP_OK;
  else if (tramp_text_is_c_declaration(decl, &is_c) == TRAMP_OK && is_c)
    s = tramp_cfunction_parse(decl, TRAMP_ABI_HOST, &f);
  else
    s = tramp_signature_parse(decl, &c->sig);
  if (f) {
    s = tramp_cfunction_signature(f, &c->sig);
    tramp_cfunction_free(f);
  }
  if (s == TRAMP_OK) s = tramp_callback_new(c->sig, callback_handler, c, &c->cb);
  if (s != TRAMP_OK) return fail_tramp(L, "tramp.callback");
  lua_pushvalue(L, 2);
  c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static int callback_gc(lua_State* L) {
  Callback* c = luaL_checkudata(L, 1, CB_MT);
  tramp_callback_free(c->cb);
  tramp_signature_free(c->sig);
  luaL_unref(L, LUA_REGISTRYINDEX, c->ref);
  c->cb = NULL;
  c->sig = NULL;
  c->ref = LUA_NOREF;
  return 0;
}

/* ---- memory: tramp.new(type, init) is a block C may write; tramp.read(ptr, type) reads one ---- */

static int l_new(lua_State* L) {
  const tramp_type* t = lookup_type(L, luaL_checkstring(L, 1));
  size_t size = tramp_type_size(t);
  Buffer* b;
  lua_settop(L, 2);
  b = lua_newuserdatauv(L, sizeof *b + size + 16, 0);
  b->type = t;
  b->size = size;
  b->data = align_up(b + 1, 16);
  memset(b->data, 0, size);
  luaL_setmetatable(L, BUF_MT);
  if (!lua_isnoneornil(L, 2)) {
    tramp_type_kind kind;
    tramp_type_kind_of(t, &kind);
    if (kind == TRAMP_KIND_POINTER && lua_type(L, 2) == LUA_TSTRING)
      return luaL_error(L, "tramp.new: a pointer to a Lua string would outlive the string");
    lua_newtable(L);
    to_c(L, 2, t, b->data, lua_gettop(L), "tramp.new", 0);
    lua_pop(L, 1);
  }
  return 1;
}

static int l_read(lua_State* L) {
  Buffer* b = luaL_testudata(L, 1, BUF_MT);
  const void* p = b ? b->data : lua_touserdata(L, 1);
  const tramp_type* t = lua_isnoneornil(L, 2) && b ? b->type : lookup_type(L, luaL_checkstring(L, 2));
  if (!p) return luaL_error(L, "tramp.read: expected a pointer or a tramp.new buffer");
  from_c(L, t, p);
  return 1;
}

/* tramp.string(ptr[, len]): the bytes at a C pointer as a Lua string (NULL: nil). */
static int l_string(lua_State* L) {
  Buffer* b = luaL_testudata(L, 1, BUF_MT);
  const char* p = b ? (const char*)b->data : lua_touserdata(L, 1);
  if (!p) lua_pushnil(L);
  else if (lua_isnoneornil(L, 2)) lua_pushstring(L, p);
  else lua_pushlstring(L, p, (size_t)luaL_checkinteger(L, 2));
  return 1;
}

__attribute__((visibility("default"))) int luaopen_tramp(lua_State* L);
int luaopen_tramp(lua_State* L) {
  static const luaL_Reg functions[] = {
    {"cdef", l_cdef}, {"load", l_load}, {"callback", l_callback}, {"errno", l_errno},
    {"new", l_new}, {"read", l_read}, {"string", l_string}, {NULL, NULL}};
  luaL_newmetatable(L, LIB_MT);
  lua_pushcfunction(L, library_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, library_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, FUNC_MT);
  lua_pushcfunction(L, function_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, CB_MT);
  lua_pushcfunction(L, callback_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newmetatable(L, BUF_MT);
  lua_pop(L, 4);
  luaL_newlib(L, functions);
  open_library(L, NULL);
  lua_setfield(L, -2, "C");
  return 1;
}
