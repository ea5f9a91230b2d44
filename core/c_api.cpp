// The C API (include/tramp/tramp.h): thin wrappers over the C++ API that turn exceptions into
// a status and a per-thread message.
#include "tramp/tramp.h"

#include <cstdint>
#include <cstring>
#include <deque>
#include <new>
#include <string>
#include <vector>

#include "abi/abis.hpp"
#include "abi/call_plan.hpp"
#include "tramp/tramp.hpp"

static_assert(TRAMP_MAX_TYPE_DEPTH == tramp::kMaxTypeDepth);
static_assert(TRAMP_MAX_TYPE_NODES == tramp::kMaxTypeNodes);

struct tramp_signature {
  tramp::Signature sig;
};
struct tramp_bound {
  tramp::BoundCall call;
};
struct tramp_callback {
  tramp::Callback cb;
};
struct tramp_library {
  tramp::Library lib;
};
struct tramp_scope {
  tramp::CScope scope;
};
struct tramp_cfunction {
  tramp::CFunction f;
};
struct tramp_function {
  tramp::Function f;
};
struct tramp_strings {
  std::deque<std::string> strings;
};

namespace {

thread_local std::string t_message;
thread_local std::size_t t_position = tramp::Error::kNoPosition;

tramp_status fail(tramp_status status, std::string message,
                  std::size_t position = tramp::Error::kNoPosition) {
  t_message = std::move(message);
  t_position = position;
  return status;
}

tramp_status status_of(tramp::ErrorCode code) {
  switch (code) {
    case tramp::ErrorCode::Syntax: return TRAMP_ERR_SYNTAX;
    case tramp::ErrorCode::InvalidType: return TRAMP_ERR_INVALID_TYPE;
    case tramp::ErrorCode::Unsupported: return TRAMP_ERR_UNSUPPORTED;
    case tramp::ErrorCode::HostAbi: return TRAMP_ERR_HOST_ABI;
    case tramp::ErrorCode::Library: return TRAMP_ERR_LIBRARY;
    case tramp::ErrorCode::Jit: return TRAMP_ERR_JIT;
  }
  return TRAMP_ERR_INTERNAL;
}

// Runs `body`, which returns TRAMP_OK or a failure made with fail(); any exception becomes
// a status and message.
template <class Body>
tramp_status guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const tramp::Error& e) {
    return fail(status_of(e.code()), e.what(), e.position());
  } catch (const std::bad_alloc&) {
    return fail(TRAMP_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(TRAMP_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(TRAMP_ERR_INTERNAL, "unknown error");
  }
}

const tramp::Type* in(const tramp_type* t) { return reinterpret_cast<const tramp::Type*>(t); }
const tramp_type* out(const tramp::Type* t) { return reinterpret_cast<const tramp_type*>(t); }

// tramp_abi numbers the rows of the ABI table from 1 (0 is the host's).
static_assert(TRAMP_ABI_SYSV_X64 == 1 + static_cast<int>(tramp::Abi::SysV_X64) &&
              TRAMP_ABI_WIN64 == 1 + static_cast<int>(tramp::Abi::Win64) &&
              TRAMP_ABI_AAPCS64 == 1 + static_cast<int>(tramp::Abi::Aapcs64) &&
              TRAMP_ABI_APPLE_ARM64 == 1 + static_cast<int>(tramp::Abi::AppleArm64));

bool abi_of(tramp_abi abi, tramp::Abi& result) {
  if (abi == TRAMP_ABI_HOST) {
    result = tramp::host_abi();
    return true;
  }
  const auto row = static_cast<std::size_t>(abi) - 1;
  if (abi < 0 || row >= tramp::abi::abis().size()) return false;
  result = tramp::abi::abis()[row].abi;
  return true;
}

tramp_status bad_argument(const char* function, const char* what) {
  return fail(TRAMP_ERR_ARGUMENT, std::string(function) + ": " + what);
}

// A count the caller passes: refused above `limit` before anything is allocated for it.
bool count_ok(const char* function, const char* name, size_t count, size_t limit, const char* why) {
  if (count <= limit) return true;
  fail(TRAMP_ERR_ARGUMENT, std::string(function) + ": " + name + " " + std::to_string(count) +
                               " exceeds " + std::to_string(limit) + " (" + why + ")");
  return false;
}

// No record is larger than kMaxTypeSize bytes, so none has more members; the same bound
// serves unions and array lengths.
constexpr const char* kTooManyMembers = "no type is larger than 2 GiB";
// An API limit: far beyond what any ABI's argument area (1 MiB) holds.
constexpr size_t kMaxArguments = size_t{1} << 20;

size_t copy_out(const std::string& s, char* buf, size_t cap) {
  if (buf && cap > 0) {
    const size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
    std::memcpy(buf, s.data(), n);
    buf[n] = '\0';
  }
  return s.size();
}

// A record of `count` members, each described by `member(i, spec)`, which fills the spec or
// returns the status to fail with.
template <class Member>
tramp_status build_record(bool is_union, bool have_members, size_t count, int packed, size_t align,
                          const tramp_type** result, const char* function, Member&& member) {
  if (!result) return bad_argument(function, "out is NULL");
  if (count > 0 && !have_members) return bad_argument(function, "members is NULL");
  if (!count_ok(function, "count", count, tramp::kMaxTypeSize, kTooManyMembers)) return TRAMP_ERR_ARGUMENT;
  return guarded([&] {
    std::vector<tramp::FieldSpec> fields(count, tramp::FieldSpec{nullptr});
    for (size_t i = 0; i < count; ++i)
      if (const tramp_status st = member(i, fields[i]); st != TRAMP_OK) return st;
    tramp::RecordOptions options{packed != 0, align};
    *result = out(is_union ? tramp::Type::union_(fields, options) : tramp::Type::struct_(fields, options));
    return TRAMP_OK;
  });
}

tramp_status record(bool is_union, const tramp_type* const* members, const size_t* aligns,
                    size_t count, int packed, size_t align, const tramp_type** result,
                    const char* function, const char* const* names = nullptr) {
  return build_record(is_union, members != nullptr, count, packed, align, result, function,
                      [&](size_t i, tramp::FieldSpec& f) {
                        if (!members[i])
                          return bad_argument(function, ("member " + std::to_string(i) + " is NULL").c_str());
                        f = {in(members[i]), aligns ? aligns[i] : 0, names && names[i] ? names[i] : ""};
                        return TRAMP_OK;
                      });
}

}  // namespace

extern "C" {

const char* tramp_last_error(void) { return t_message.c_str(); }
size_t tramp_last_error_position(void) { return t_position; }

const tramp_type* tramp_type_scalar(tramp_scalar kind) {
  static const tramp::TypeKind kKinds[] = {
      tramp::TypeKind::Void, tramp::TypeKind::Bool, tramp::TypeKind::I8,   tramp::TypeKind::U8,
      tramp::TypeKind::I16,  tramp::TypeKind::U16,  tramp::TypeKind::I32,  tramp::TypeKind::U32,
      tramp::TypeKind::I64,  tramp::TypeKind::U64,  tramp::TypeKind::I128, tramp::TypeKind::U128,
      tramp::TypeKind::F32,  tramp::TypeKind::F64,  tramp::TypeKind::F80,  tramp::TypeKind::F128,
      tramp::TypeKind::Pointer, tramp::TypeKind::F16};
  const auto i = static_cast<size_t>(kind);
  if (i >= sizeof kKinds / sizeof kKinds[0]) {
    bad_argument("tramp_type_scalar", "unknown scalar kind");
    return nullptr;
  }
  return out(tramp::Type::scalar(kKinds[i]));
}

tramp_status tramp_type_parse(const char* text, tramp_abi abi, const tramp_type** result) {
  tramp::Abi a;
  if (!text || !result) return bad_argument("tramp_type_parse", "text or out is NULL");
  if (!abi_of(abi, a)) return bad_argument("tramp_type_parse", "unknown ABI");
  return guarded([&] {
    *result = out(tramp::parse_type(text, a));
    return TRAMP_OK;
  });
}

tramp_status tramp_type_struct(const tramp_type* const* members, const size_t* aligns, size_t count,
                               int packed, size_t align, const tramp_type** result) {
  return record(false, members, aligns, count, packed, align, result, "tramp_type_struct");
}

tramp_status tramp_type_union(const tramp_type* const* members, const size_t* aligns, size_t count,
                              int packed, size_t align, const tramp_type** result) {
  return record(true, members, aligns, count, packed, align, result, "tramp_type_union");
}

tramp_status tramp_type_array(const tramp_type* element, size_t count, const tramp_type** result) {
  if (!element || !result) return bad_argument("tramp_type_array", "element or out is NULL");
  if (!count_ok("tramp_type_array", "count", count, tramp::kMaxTypeSize, kTooManyMembers))
    return TRAMP_ERR_ARGUMENT;
  return guarded([&] {
    *result = out(tramp::Type::array(in(element), count));
    return TRAMP_OK;
  });
}

tramp_status tramp_type_complex(const tramp_type* element, const tramp_type** result) {
  if (!element || !result) return bad_argument("tramp_type_complex", "element or out is NULL");
  return guarded([&] {
    *result = out(tramp::Type::complex(in(element)));
    return TRAMP_OK;
  });
}

tramp_status tramp_type_vector(const tramp_type* element, size_t count, size_t align, const tramp_type** result) {
  if (!element || !result) return bad_argument("tramp_type_vector", "element or out is NULL");
  return guarded([&] {
    *result = out(tramp::Type::vector(in(element), count, align));
    return TRAMP_OK;
  });
}

tramp_status tramp_type_record(int is_union, const tramp_member* members, size_t count, int packed, size_t align,
                               const tramp_type** result) {
  const char* function = "tramp_type_record";
  return build_record(is_union != 0, members != nullptr, count, packed, align, result, function,
                      [&](size_t i, tramp::FieldSpec& f) {
                        const tramp_member& m = members[i];
                        if (!m.type)
                          return bad_argument(function, ("member " + std::to_string(i) + " has a NULL type").c_str());
                        // Wider than any integer's bits: refused here, before it could wrap to a
                        // small width.
                        if (m.bit_width != TRAMP_NOT_BIT_FIELD && m.bit_width > 128)
                          return bad_argument(function, ("member " + std::to_string(i) + ": bit-field width " +
                                                         std::to_string(m.bit_width) + " exceeds 128")
                                                            .c_str());
                        f = {in(m.type), m.align, m.name ? m.name : ""};
                        if (m.bit_width != TRAMP_NOT_BIT_FIELD) f.bit_width = static_cast<std::uint32_t>(m.bit_width);
                        f.unnamed = m.unnamed != 0;
                        return TRAMP_OK;
                      });
}

size_t tramp_type_size(const tramp_type* t) { return t ? in(t)->size() : 0; }
size_t tramp_type_align(const tramp_type* t) { return t ? in(t)->align() : 0; }
size_t tramp_type_field_count(const tramp_type* t) { return t ? in(t)->fields().size() : 0; }

size_t tramp_type_field_offset(const tramp_type* t, size_t i) {
  if (!t || i >= in(t)->fields().size()) return static_cast<size_t>(-1);
  return in(t)->fields()[i].offset;
}

size_t tramp_type_format(const tramp_type* t, char* buf, size_t cap) {
  if (!t) return copy_out("", buf, cap);
  try {
    return copy_out(in(t)->str(), buf, cap);
  } catch (...) {
    return copy_out("", buf, cap);
  }
}

tramp_status tramp_signature_parse(const char* text, tramp_signature** result) {
  if (!text || !result) return bad_argument("tramp_signature_parse", "text or out is NULL");
  return guarded([&] {
    *result = new tramp_signature{tramp::parse_signature(text)};
    return TRAMP_OK;
  });
}

tramp_status tramp_signature_new(tramp_abi abi, const tramp_type* ret, const tramp_type* const* args,
                                 size_t count, size_t fixed, tramp_signature** result) {
  tramp::Abi a;
  if (!ret || !result || (count > 0 && !args))
    return bad_argument("tramp_signature_new", "ret, args or out is NULL");
  if (!abi_of(abi, a)) return bad_argument("tramp_signature_new", "unknown ABI");
  if (!count_ok("tramp_signature_new", "count", count, kMaxArguments, "the most arguments a signature may have"))
    return TRAMP_ERR_ARGUMENT;
  if (fixed != TRAMP_NOT_VARIADIC &&
      !count_ok("tramp_signature_new", "fixed", fixed, count, "count, the number of arguments"))
    return TRAMP_ERR_ARGUMENT;
  return guarded([&] {
    std::vector<const tramp::Type*> types(count);
    for (size_t i = 0; i < count; ++i) types[i] = in(args[i]);  // null: the Signature says which
    *result = new tramp_signature{tramp::Signature(in(ret), std::move(types), a,
                                                   fixed == TRAMP_NOT_VARIADIC ? tramp::Signature::kNotVariadic : fixed)};
    return TRAMP_OK;
  });
}

void tramp_signature_free(tramp_signature* sig) { delete sig; }

tramp_status tramp_signature_set_errno(tramp_signature* sig, tramp_errno_mode mode) {
  if (!sig) return bad_argument("tramp_signature_set_errno", "sig is NULL");
  tramp::ErrnoMode m;
  switch (mode) {
    case TRAMP_ERRNO_NONE: m = tramp::ErrnoMode::None; break;
    case TRAMP_ERRNO_CAPTURE: m = tramp::ErrnoMode::Capture; break;
    case TRAMP_ERRNO_SET_AND_CAPTURE: m = tramp::ErrnoMode::SetAndCapture; break;
    default: return bad_argument("tramp_signature_set_errno", "unknown errno mode");
  }
  return guarded([&] {
    sig->sig = sig->sig.with_errno_mode(m);
    return TRAMP_OK;
  });
}

tramp_errno_mode tramp_signature_errno(const tramp_signature* sig) {
  if (!sig) return TRAMP_ERRNO_NONE;
  switch (sig->sig.errno_mode()) {
    case tramp::ErrnoMode::None: return TRAMP_ERRNO_NONE;
    case tramp::ErrnoMode::Capture: return TRAMP_ERRNO_CAPTURE;
    case tramp::ErrnoMode::SetAndCapture: return TRAMP_ERRNO_SET_AND_CAPTURE;
  }
  return TRAMP_ERRNO_NONE;
}

tramp_status tramp_signature_set_static_chain(tramp_signature* sig, int on) {
  if (!sig) return bad_argument("tramp_signature_set_static_chain", "sig is NULL");
  return guarded([&] {
    sig->sig = sig->sig.with_static_chain(on != 0);
    return TRAMP_OK;
  });
}

int tramp_signature_static_chain(const tramp_signature* sig) { return sig && sig->sig.static_chain() ? 1 : 0; }

size_t tramp_signature_format(const tramp_signature* sig, char* buf, size_t cap) {
  if (!sig) return copy_out("", buf, cap);
  try {
    return copy_out(sig->sig.str(), buf, cap);
  } catch (...) {
    return copy_out("", buf, cap);
  }
}

tramp_status tramp_plan_format(const tramp_signature* sig, char* buf, size_t cap, size_t* length) {
  if (!sig) return bad_argument("tramp_plan_format", "sig is NULL");
  return guarded([&] {
    auto plan = tramp::abi::classify(sig->sig);
    if (!plan) throw plan.error();
    const size_t n = copy_out(plan.value().str(sig->sig), buf, cap);
    if (length) *length = n;
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_new(tramp_abi abi, tramp_scope** result) {
  tramp::Abi a;
  if (!result) return bad_argument("tramp_scope_new", "out is NULL");
  if (!abi_of(abi, a)) return bad_argument("tramp_scope_new", "unknown ABI");
  return guarded([&] {
    *result = new tramp_scope{tramp::CScope(a)};
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_parse(tramp_scope* scope, const char* source) {
  if (!scope || !source) return bad_argument("tramp_scope_parse", "scope or source is NULL");
  return guarded([&] {
    scope->scope.parse(source);
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_function(const tramp_scope* scope, const char* name, tramp_signature** result) {
  if (!scope || !name || !result) return bad_argument("tramp_scope_function", "scope, name or out is NULL");
  return guarded([&] {
    const tramp::CFunction* f = scope->scope.function(name);
    if (!f) return fail(TRAMP_ERR_ARGUMENT, std::string("tramp_scope_function: no function '") + name + "' declared");
    *result = new tramp_signature{f->signature};
    return TRAMP_OK;
  });
}

const tramp_type* tramp_scope_type(const tramp_scope* scope, const char* name) {
  if (!scope || !name) return nullptr;
  return out(scope->scope.type(name));
}

void tramp_scope_free(tramp_scope* scope) { delete scope; }

tramp_status tramp_invoker(const tramp_signature* sig, tramp_invoke_fn* result) {
  if (!sig || !result) return bad_argument("tramp_invoker", "sig or out is NULL");
  return guarded([&] {
    *result = tramp::Engine::global().invoker(sig->sig).entry();
    return TRAMP_OK;
  });
}

tramp_status tramp_invoker_direct(const tramp_signature* sig, void** result) {
  if (!sig || !result) return bad_argument("tramp_invoker_direct", "sig or out is NULL");
  return guarded([&] {
    const tramp::Type* rt = sig->sig.ret();
    const bool floating = rt->kind() == tramp::TypeKind::F32 || rt->kind() == tramp::TypeKind::F64;
    const bool integral = (rt->is_integer() || rt->kind() == tramp::TypeKind::Pointer) && rt->size() <= 8;
    if (!floating && !integral)
      return fail(TRAMP_ERR_UNSUPPORTED, "tramp_invoker_direct: the return type " + rt->str() + " of " +
                                             sig->sig.str(true) +
                                             " is not bool, an integer up to 64 bits, a pointer, f32 or"
                                             " f64; call it through tramp_invoker");
    void* entry = const_cast<void*>(tramp::Engine::global().invoker(sig->sig).direct_entry(floating, rt->size()));
    *result = entry;
    return TRAMP_OK;
  });
}

tramp_status tramp_invoker_widened(const tramp_signature* sig, tramp_invoke_fn* result) {
  if (!sig || !result) return bad_argument("tramp_invoker_widened", "sig or out is NULL");
  return guarded([&] {
    *result = tramp::Engine::global().invoker(sig->sig).widened();
    return TRAMP_OK;
  });
}

tramp_status tramp_bind(const tramp_signature* sig, const void* fn, tramp_bound** result) {
  if (!sig || !fn || !result) return bad_argument("tramp_bind", "sig, fn or out is NULL");
  return guarded([&] {
    *result = new tramp_bound{tramp::Engine::global().bind(sig->sig, fn)};
    return TRAMP_OK;
  });
}

tramp_bound_fn tramp_bound_entry(const tramp_bound* bound) { return bound ? bound->call.entry() : nullptr; }
void tramp_bound_free(tramp_bound* bound) { delete bound; }

tramp_status tramp_callback_new(const tramp_signature* sig, tramp_handler handler, void* user,
                                tramp_callback** result) {
  if (!sig || !handler || !result) return bad_argument("tramp_callback_new", "sig, handler or out is NULL");
  return guarded([&] {
    *result = new tramp_callback{tramp::Engine::global().callback(sig->sig, handler, user)};
    return TRAMP_OK;
  });
}

void* tramp_callback_code(const tramp_callback* cb) {
  return cb ? const_cast<void*>(cb->cb.code()) : nullptr;
}
void tramp_callback_free(tramp_callback* cb) { delete cb; }

tramp_status tramp_library_open(const char* name, tramp_library** result) {
  if (!result) return bad_argument("tramp_library_open", "out is NULL");
  return guarded([&] {
    *result = new tramp_library{name ? tramp::Library::open(name) : tramp::Library::self()};
    return TRAMP_OK;
  });
}

tramp_status tramp_library_symbol(const tramp_library* lib, const char* name, void** result) {
  if (!lib || !name || !result) return bad_argument("tramp_library_symbol", "lib, name or out is NULL");
  return guarded([&] {
    *result = lib->lib.symbol(name);
    return TRAMP_OK;
  });
}

void tramp_library_close(tramp_library* lib) { delete lib; }

int tramp_last_errno(void) { return tramp::last_errno(); }
void tramp_set_last_errno(int value) { tramp::set_last_errno(value); }

tramp_status tramp_set_perf_output(tramp_perf_output output) {
  tramp::PerfOutput o;
  switch (output) {
    case TRAMP_PERF_NONE: o = tramp::PerfOutput::None; break;
    case TRAMP_PERF_MAP: o = tramp::PerfOutput::Map; break;
    case TRAMP_PERF_JITDUMP: o = tramp::PerfOutput::JitDump; break;
    default: return bad_argument("tramp_set_perf_output", "unknown output");
  }
  return guarded([&] {
    tramp::set_perf_output(o);
    return TRAMP_OK;
  });
}

}  // extern "C"

// ---- functions from C declarations ----

extern "C" {

tramp_status tramp_function_new(const tramp_library* lib, const char* declaration, tramp_function** result) {
  if (!lib || !declaration || !result) return bad_argument("tramp_function_new", "lib, declaration or out is NULL");
  return guarded([&] {
    *result = new tramp_function{tramp::Engine::global().function(lib->lib, declaration)};
    return TRAMP_OK;
  });
}

tramp_status tramp_function_from_scope(const tramp_library* lib, const tramp_scope* scope, const char* name,
                                       tramp_function** result) {
  if (!lib || !scope || !name || !result)
    return bad_argument("tramp_function_from_scope", "lib, scope, name or out is NULL");
  if (!scope->scope.function(name))
    return fail(TRAMP_ERR_ARGUMENT, std::string("tramp_function_from_scope: no function '") + name + "' declared");
  return guarded([&] {
    *result = new tramp_function{tramp::Engine::global().function(lib->lib, scope->scope, name)};
    return TRAMP_OK;
  });
}

tramp_status tramp_function_call(const tramp_function* f, void* ret, void* const* args) {
  if (!f) return bad_argument("tramp_function_call", "f is NULL");
  f->f(ret, args);
  return TRAMP_OK;
}

tramp_status tramp_function_name(const tramp_function* f, const char** result) {
  if (!f || !result) return bad_argument("tramp_function_name", "f or out is NULL");
  *result = f->f.name().c_str();
  return TRAMP_OK;
}

tramp_status tramp_function_cfunction(const tramp_function* f, tramp_cfunction** result) {
  if (!f || !result) return bad_argument("tramp_function_cfunction", "f or out is NULL");
  return guarded([&] {
    *result = new tramp_cfunction{f->f.declaration()};
    return TRAMP_OK;
  });
}

tramp_status tramp_function_signature(const tramp_function* f, tramp_signature** result) {
  if (!f || !result) return bad_argument("tramp_function_signature", "f or out is NULL");
  return guarded([&] {
    *result = new tramp_signature{f->f.signature()};
    return TRAMP_OK;
  });
}

tramp_status tramp_function_target(const tramp_function* f, void** result) {
  if (!f || !result) return bad_argument("tramp_function_target", "f or out is NULL");
  *result = const_cast<void*>(f->f.target());
  return TRAMP_OK;
}

tramp_status tramp_function_invoker(const tramp_function* f, tramp_invoke_fn* result) {
  if (!f || !result) return bad_argument("tramp_function_invoker", "f or out is NULL");
  *result = f->f.invoker().entry();
  return TRAMP_OK;
}

void tramp_function_free(tramp_function* f) { delete f; }

}  // extern "C"

// ---- describing types, signatures and C declarations ----

static_assert(TRAMP_KIND_VOID == static_cast<int>(tramp::TypeKind::Void));
static_assert(TRAMP_KIND_POINTER == static_cast<int>(tramp::TypeKind::Pointer));
static_assert(TRAMP_KIND_STRUCT == static_cast<int>(tramp::TypeKind::Struct));
static_assert(TRAMP_KIND_UNION == static_cast<int>(tramp::TypeKind::Union));
static_assert(TRAMP_KIND_ARRAY == static_cast<int>(tramp::TypeKind::Array));
static_assert(TRAMP_POINTER == static_cast<int>(tramp::TypeKind::Pointer));  // tramp_scalar is the same order
static_assert(TRAMP_KIND_F16 == static_cast<int>(tramp::TypeKind::F16));
static_assert(TRAMP_KIND_COMPLEX == static_cast<int>(tramp::TypeKind::Complex));
static_assert(TRAMP_KIND_VECTOR == static_cast<int>(tramp::TypeKind::Vector));

namespace {

// "f: index 3 out of range (the record {i32} has 1 member(s))"
std::string index_message(const char* function, size_t i, const std::string& what, size_t count, const char* noun) {
  return std::string(function) + ": index " + std::to_string(i) + " out of range (" + what + " has " +
         std::to_string(count) + " " + noun + ")";
}

tramp_abi abi_out(tramp::Abi abi) { return static_cast<tramp_abi>(1 + static_cast<int>(abi)); }

}  // namespace

extern "C" {

tramp_status tramp_type_kind_of(const tramp_type* t, tramp_type_kind* result) {
  if (!t || !result) return bad_argument("tramp_type_kind_of", "t or out is NULL");
  *result = static_cast<tramp_type_kind>(in(t)->kind());
  return TRAMP_OK;
}

tramp_status tramp_type_scalar_kind(const tramp_type* t, tramp_scalar* result) {
  if (!t || !result) return bad_argument("tramp_type_scalar_kind", "t or out is NULL");
  if (in(t)->kind() == tramp::TypeKind::F16) {
    *result = TRAMP_F16;  // appended to tramp_scalar, where TypeKind has the records between
    return TRAMP_OK;
  }
  if (in(t)->kind() > tramp::TypeKind::Pointer)
    return fail(TRAMP_ERR_ARGUMENT, "tramp_type_scalar_kind: " + in(t)->str() + " is not a scalar type");
  *result = static_cast<tramp_scalar>(in(t)->kind());
  return TRAMP_OK;
}

tramp_status tramp_type_field(const tramp_type* t, size_t i, const tramp_type** type, size_t* offset,
                              const char** name) {
  if (!t) return bad_argument("tramp_type_field", "t is NULL");
  const auto fields = in(t)->fields();
  if (i >= fields.size())
    return fail(TRAMP_ERR_ARGUMENT,
                index_message("tramp_type_field", i, (in(t)->is_record() ? "the record " : "the non-record type ") + in(t)->str(),
                              fields.size(), "member(s)"));
  if (type) *type = out(fields[i].type);
  if (offset) *offset = fields[i].offset;
  if (name) *name = fields[i].name.empty() ? nullptr : fields[i].name.c_str();
  return TRAMP_OK;
}

tramp_status tramp_type_element(const tramp_type* t, const tramp_type** element, size_t* count) {
  if (!t) return bad_argument("tramp_type_element", "t is NULL");
  if (in(t)->element() == nullptr)
    return fail(TRAMP_ERR_ARGUMENT, "tramp_type_element: " + in(t)->str() + " is not an array, vector or complex type");
  if (element) *element = out(in(t)->element());
  if (count) *count = in(t)->count();
  return TRAMP_OK;
}

tramp_status tramp_type_field_bits(const tramp_type* t, size_t i, size_t* bit_width, size_t* bit_offset,
                                   int* unnamed) {
  if (!t) return bad_argument("tramp_type_field_bits", "t is NULL");
  const auto fields = in(t)->fields();
  if (i >= fields.size())
    return fail(TRAMP_ERR_ARGUMENT, index_message("tramp_type_field_bits", i,
                                                  (in(t)->is_record() ? "the record " : "the non-record type ") + in(t)->str(),
                                                  fields.size(), "member(s)"));
  const tramp::Field& f = fields[i];
  if (bit_width) *bit_width = f.is_bit_field() ? f.bit_width : TRAMP_NOT_BIT_FIELD;
  if (bit_offset) *bit_offset = f.bit_offset;
  if (unnamed) *unnamed = f.unnamed ? 1 : 0;
  return TRAMP_OK;
}

tramp_status tramp_type_struct_named(const tramp_type* const* members, const size_t* aligns,
                                     const char* const* names, size_t count, int packed, size_t align,
                                     const tramp_type** result) {
  return record(false, members, aligns, count, packed, align, result, "tramp_type_struct_named", names);
}

tramp_status tramp_type_union_named(const tramp_type* const* members, const size_t* aligns,
                                    const char* const* names, size_t count, int packed, size_t align,
                                    const tramp_type** result) {
  return record(true, members, aligns, count, packed, align, result, "tramp_type_union_named", names);
}

tramp_status tramp_signature_abi(const tramp_signature* sig, tramp_abi* result) {
  if (!sig || !result) return bad_argument("tramp_signature_abi", "sig or out is NULL");
  *result = abi_out(sig->sig.abi());
  return TRAMP_OK;
}

tramp_status tramp_signature_return(const tramp_signature* sig, const tramp_type** result) {
  if (!sig || !result) return bad_argument("tramp_signature_return", "sig or out is NULL");
  *result = out(sig->sig.ret());
  return TRAMP_OK;
}

tramp_status tramp_signature_arg_count(const tramp_signature* sig, size_t* result) {
  if (!sig || !result) return bad_argument("tramp_signature_arg_count", "sig or out is NULL");
  *result = sig->sig.arg_count();
  return TRAMP_OK;
}

tramp_status tramp_signature_arg(const tramp_signature* sig, size_t i, const tramp_type** result) {
  if (!sig || !result) return bad_argument("tramp_signature_arg", "sig or out is NULL");
  if (i >= sig->sig.arg_count())
    return fail(TRAMP_ERR_ARGUMENT, index_message("tramp_signature_arg", i, "the signature " + sig->sig.str(),
                                                  sig->sig.arg_count(), "argument(s)"));
  *result = out(sig->sig.args()[i]);
  return TRAMP_OK;
}

tramp_status tramp_signature_fixed_count(const tramp_signature* sig, size_t* result) {
  if (!sig || !result) return bad_argument("tramp_signature_fixed_count", "sig or out is NULL");
  *result = sig->sig.fixed_count();
  return TRAMP_OK;
}

tramp_status tramp_signature_is_variadic(const tramp_signature* sig, int* result) {
  if (!sig || !result) return bad_argument("tramp_signature_is_variadic", "sig or out is NULL");
  *result = sig->sig.variadic() ? 1 : 0;
  return TRAMP_OK;
}

tramp_status tramp_signature_with_variadic(const tramp_signature* declared, const tramp_type* const* extra,
                                           size_t n, tramp_signature** result) {
  if (!declared || !result || (n > 0 && !extra))
    return bad_argument("tramp_signature_with_variadic", "declared, extra or out is NULL");
  if (!count_ok("tramp_signature_with_variadic", "n", n, kMaxArguments, "the most arguments a signature may have"))
    return TRAMP_ERR_ARGUMENT;
  return guarded([&] {
    std::vector<const tramp::Type*> types(n);
    for (size_t i = 0; i < n; ++i) types[i] = in(extra[i]);  // null: with_variadic says which
    *result = new tramp_signature{declared->sig.with_variadic(types)};
    return TRAMP_OK;
  });
}

tramp_status tramp_cfunction_parse(const char* source, tramp_abi abi, tramp_cfunction** result) {
  tramp::Abi a;
  if (!source || !result) return bad_argument("tramp_cfunction_parse", "source or out is NULL");
  if (!abi_of(abi, a)) return bad_argument("tramp_cfunction_parse", "unknown ABI");
  return guarded([&] {
    *result = new tramp_cfunction{tramp::parse_c_function(source, a)};
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_cfunction(const tramp_scope* scope, const char* name, tramp_cfunction** result) {
  if (!scope || !name || !result) return bad_argument("tramp_scope_cfunction", "scope, name or out is NULL");
  return guarded([&] {
    const tramp::CFunction* f = scope->scope.function(name);
    if (!f) return fail(TRAMP_ERR_ARGUMENT, std::string("tramp_scope_cfunction: no function '") + name + "' declared");
    *result = new tramp_cfunction{*f};
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_function_count(const tramp_scope* scope, size_t* result) {
  if (!scope || !result) return bad_argument("tramp_scope_function_count", "scope or out is NULL");
  *result = scope->scope.functions().size();
  return TRAMP_OK;
}

tramp_status tramp_scope_function_at(const tramp_scope* scope, size_t i, tramp_cfunction** result) {
  if (!scope || !result) return bad_argument("tramp_scope_function_at", "scope or out is NULL");
  const auto& functions = scope->scope.functions();
  if (i >= functions.size())
    return fail(TRAMP_ERR_ARGUMENT,
                index_message("tramp_scope_function_at", i, "the scope", functions.size(), "function(s)"));
  return guarded([&] {
    *result = new tramp_cfunction{functions[i]};
    return TRAMP_OK;
  });
}

tramp_status tramp_cfunction_name(const tramp_cfunction* f, const char** result) {
  if (!f || !result) return bad_argument("tramp_cfunction_name", "f or out is NULL");
  *result = f->f.name.c_str();
  return TRAMP_OK;
}

tramp_status tramp_cfunction_signature(const tramp_cfunction* f, tramp_signature** result) {
  if (!f || !result) return bad_argument("tramp_cfunction_signature", "f or out is NULL");
  return guarded([&] {
    *result = new tramp_signature{f->f.signature};
    return TRAMP_OK;
  });
}

tramp_status tramp_cfunction_returns_c_string(const tramp_cfunction* f, int* result) {
  if (!f || !result) return bad_argument("tramp_cfunction_returns_c_string", "f or out is NULL");
  *result = f->f.returns_c_string ? 1 : 0;
  return TRAMP_OK;
}

tramp_status tramp_cfunction_callback(const tramp_cfunction* f, size_t i, tramp_signature** result) {
  if (!f || !result) return bad_argument("tramp_cfunction_callback", "f or out is NULL");
  const auto& callbacks = f->f.callbacks;
  const std::size_t n = f->f.signature.args().size();
  if (i >= n) return fail(TRAMP_ERR_ARGUMENT, index_message("tramp_cfunction_callback", i, "function '" + f->f.name + "'", n, "parameter(s)"));
  if (i >= callbacks.size() || !callbacks[i])
    return fail(TRAMP_ERR_ARGUMENT, "tramp_cfunction_callback: parameter " + std::to_string(i) + " of '" + f->f.name +
                                        "' is not declared as a pointer to a function");
  return guarded([&] {
    *result = new tramp_signature{*callbacks[i]};
    return TRAMP_OK;
  });
}

void tramp_cfunction_free(tramp_cfunction* f) { delete f; }

tramp_status tramp_scope_include(tramp_scope* scope, const char* header, const tramp_include_options* options) {
  if (!scope || !header) return bad_argument("tramp_scope_include", "scope or header is NULL");
  tramp::CHeaderOptions o;
  if (options) {
    auto strings = [](const char* const* v, std::size_t n, std::vector<std::string>& out) {
      for (std::size_t i = 0; i < n; ++i)
        if (v && v[i]) out.emplace_back(v[i]);
    };
    strings(options->include_dirs, options->include_dir_count, o.include_dirs);
    strings(options->defines, options->define_count, o.defines);
    strings(options->preprocessor, options->preprocessor_count, o.preprocessor);
    o.lenient = !options->strict;
    o.constants = !options->no_constants;
  }
  return guarded([&] {
    scope->scope.include(header, o);
    return TRAMP_OK;
  });
}

tramp_status tramp_scope_parse_lenient(tramp_scope* scope, const char* source) {
  if (!scope || !source) return bad_argument("tramp_scope_parse_lenient", "scope or source is NULL");
  return guarded([&] {
    scope->scope.parse(source, tramp::CParseOptions{true});
    return TRAMP_OK;
  });
}

size_t tramp_scope_declaration_count(const tramp_scope* scope) { return scope ? scope->scope.declaration_count() : 0; }
size_t tramp_scope_skipped_count(const tramp_scope* scope) { return scope ? scope->scope.skipped().size() : 0; }

tramp_status tramp_scope_skipped_at(const tramp_scope* scope, size_t i, const char** message, const char** name,
                                    const char** file, size_t* line) {
  if (!scope) return bad_argument("tramp_scope_skipped_at", "scope is NULL");
  const auto& skipped = scope->scope.skipped();
  if (i >= skipped.size())
    return fail(TRAMP_ERR_ARGUMENT, index_message("tramp_scope_skipped_at", i, "the scope", skipped.size(), "skipped declaration(s)"));
  const tramp::CSkipped& k = skipped[i];
  if (message) *message = k.message.c_str();
  if (name) *name = k.name.c_str();
  if (file) *file = k.file.c_str();
  if (line) *line = k.line;
  return TRAMP_OK;
}

namespace {
void constant_out(const tramp::CConstant& c, tramp_constant* out) {
  out->name = c.name.c_str();
  out->kind = c.kind == tramp::CConstant::Kind::Integer ? TRAMP_CONSTANT_INTEGER
              : c.kind == tramp::CConstant::Kind::Float ? TRAMP_CONSTANT_FLOAT
                                                        : TRAMP_CONSTANT_STRING;
  out->type = ::out(c.type);
  out->integer = c.integer;
  out->floating = c.floating;
  out->string = c.kind == tramp::CConstant::Kind::String ? c.string.c_str() : nullptr;
  out->string_length = c.string.size();
}
}  // namespace

tramp_status tramp_scope_constant(const tramp_scope* scope, const char* name, tramp_constant* result) {
  if (!scope || !name || !result) return bad_argument("tramp_scope_constant", "scope, name or out is NULL");
  const tramp::CConstant* c = scope->scope.constant(name);
  if (!c) return fail(TRAMP_ERR_ARGUMENT, std::string("tramp_scope_constant: no constant '") + name + "'");
  constant_out(*c, result);
  return TRAMP_OK;
}

tramp_status tramp_scope_constant_count(const tramp_scope* scope, size_t* result) {
  if (!scope || !result) return bad_argument("tramp_scope_constant_count", "scope or out is NULL");
  *result = scope->scope.constants().size();
  return TRAMP_OK;
}

tramp_status tramp_scope_constant_at(const tramp_scope* scope, size_t i, tramp_constant* result) {
  if (!scope || !result) return bad_argument("tramp_scope_constant_at", "scope or out is NULL");
  const auto& constants = scope->scope.constants();
  if (i >= constants.size())
    return fail(TRAMP_ERR_ARGUMENT, index_message("tramp_scope_constant_at", i, "the scope", constants.size(), "constant(s)"));
  constant_out(constants[i], result);
  return TRAMP_OK;
}

tramp_status tramp_scope_function_type(const tramp_scope* scope, const char* typedef_name, tramp_signature** result) {
  if (!scope || !typedef_name || !result) return bad_argument("tramp_scope_function_type", "scope, name or out is NULL");
  const tramp::Signature* sig = scope->scope.function_type(typedef_name);
  if (!sig)
    return fail(TRAMP_ERR_ARGUMENT, std::string("tramp_scope_function_type: '") + typedef_name +
                                        "' is not a typedef of a function or a pointer to one");
  return guarded([&] {
    *result = new tramp_signature{*sig};
    return TRAMP_OK;
  });
}

}  // extern "C"

// ---- C values as text ----

extern "C" {

tramp_status tramp_strings_new(tramp_strings** result) {
  if (!result) return bad_argument("tramp_strings_new", "out is NULL");
  return guarded([&] {
    *result = new tramp_strings{};
    return TRAMP_OK;
  });
}

void tramp_strings_free(tramp_strings* strings) { delete strings; }

tramp_status tramp_value_parse(const tramp_type* t, const char* text, void* dst, tramp_strings* strings) {
  if (!t || !text || !dst) return bad_argument("tramp_value_parse", "t, text or dst is NULL");
  if (in(t)->is_void()) return bad_argument("tramp_value_parse", "no value has type void");
  return guarded([&] {
    // Into a copy first: nothing reaches dst or strings unless the whole literal is good.
    std::vector<unsigned char> bytes(in(t)->size() + 16);
    auto* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(bytes.data()) + 15) &
                                                     ~std::uintptr_t{15});
    // Strings go straight into their final deque (moving a short string would move its
    // characters); on failure the ones this call added are dropped again.
    std::deque<std::string> none;
    std::deque<std::string>& held = strings ? strings->strings : none;
    const size_t before = held.size();
    try {
      tramp::parse_value(text, in(t), aligned, held);
    } catch (...) {
      held.resize(before);
      throw;
    }
    if (!strings && !none.empty())
      return bad_argument("tramp_value_parse", "a string literal needs a tramp_strings to hold its copy (strings is NULL)");
    std::memcpy(dst, aligned, in(t)->size());
    return TRAMP_OK;
  });
}

tramp_status tramp_value_format(const tramp_type* t, const void* src, char* buf, size_t cap, size_t* length) {
  if (!t || !src) return bad_argument("tramp_value_format", "t or src is NULL");
  if (!buf && cap > 0) return bad_argument("tramp_value_format", "buf is NULL but cap is not 0");
  if (in(t)->is_void()) return bad_argument("tramp_value_format", "no value has type void");
  return guarded([&] {
    const size_t n = copy_out(tramp::format_value(in(t), src), buf, cap);
    if (length) *length = n;
    return TRAMP_OK;
  });
}

tramp_status tramp_value_promoted_type(const char* literal, const tramp_type** result) {
  if (!literal || !result) return bad_argument("tramp_value_promoted_type", "literal or out is NULL");
  return guarded([&] {
    *result = out(tramp::promoted_literal_type(literal));
    return TRAMP_OK;
  });
}

tramp_status tramp_text_is_c_declaration(const char* text, int* result) {
  if (!text || !result) return bad_argument("tramp_text_is_c_declaration", "text or out is NULL");
  *result = tramp::looks_like_c_declaration(text) ? 1 : 0;
  return TRAMP_OK;
}

}  // extern "C"
