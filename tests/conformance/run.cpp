// Conformance runner: calls every generated C function through tramp (invoker and bound
// stub) and libffi, and calls every generated C caller with a tramp callback thunk; checks
// every significant byte of every argument and return value in both directions.
//
//   conformance_run --lib libconformance_cases.so --manifest manifest.txt [--filter TEXT] [--seed S]
#include <dlfcn.h>
#include <ffi.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

namespace {

constexpr std::size_t kSlot = 256;  // must match gen.cpp
constexpr std::size_t kMaxArgs = 21;

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

using tramp::Type;
using tramp::TypeKind;

// Which bytes of a value carry information: not padding, not the 6 unused bytes of an x87
// long double.
void mark_significant(const Type* t, std::size_t off, std::vector<std::uint8_t>& mask) {
  switch (t->kind()) {
    case TypeKind::Struct:
    case TypeKind::Union:
      for (const auto& f : t->fields()) mark_significant(f.type, off + f.offset, mask);
      return;
    case TypeKind::Array:
      for (std::size_t i = 0; i < t->count(); ++i) mark_significant(t->element(), off + i * t->element()->size(), mask);
      return;
    case TypeKind::F80:
      for (std::size_t i = 0; i < 10; ++i) mask[off + i] = 1;
      return;
    default:
      for (std::size_t i = 0; i < t->size(); ++i) mask[off + i] = 1;
      return;
  }
}

std::vector<std::uint8_t> significant(const Type* t) {
  std::vector<std::uint8_t> m(t->size(), 0);
  mark_significant(t, 0, m);
  return m;
}

// Random bytes that are a valid value of t: bool is 0 or 1, and a long double is a normal
// x87 number (x87 loads would canonicalise other encodings on the way through st0).
void fill_value(const Type* t, std::uint8_t* p, Rng& rng) {
  switch (t->kind()) {
    case TypeKind::Struct:
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = static_cast<std::uint8_t>(rng.next());
      for (const auto& f : t->fields()) fill_value(f.type, p + f.offset, rng);
      return;
    case TypeKind::Union:
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = static_cast<std::uint8_t>(rng.next());
      fill_value(t->fields()[0].type, p, rng);
      return;
    case TypeKind::Array:
      for (std::size_t i = 0; i < t->count(); ++i) fill_value(t->element(), p + i * t->element()->size(), rng);
      return;
    case TypeKind::Bool:
      p[0] = rng.next() & 1;
      return;
    case TypeKind::F80: {
      std::uint64_t mant = rng.next() | (std::uint64_t{1} << 63);
      std::uint16_t se = static_cast<std::uint16_t>(1 + rng.next() % 0x7ffe) | static_cast<std::uint16_t>((rng.next() & 1) << 15);
      std::memcpy(p, &mant, 8);
      std::memcpy(p + 8, &se, 2);
      for (std::size_t i = 10; i < 16; ++i) p[i] = static_cast<std::uint8_t>(rng.next());
      return;
    }
    default:
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = static_cast<std::uint8_t>(rng.next());
      return;
  }
}

std::string hex(const std::uint8_t* p, std::size_t n) {
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// First differing significant byte, or -1.
long compare(const Type* t, const std::uint8_t* got, const std::uint8_t* want) {
  std::vector<std::uint8_t> m = significant(t);
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i] && got[i] != want[i]) return static_cast<long>(i);
  return -1;
}

// libffi descriptions; nullptr where libffi cannot express the type.
struct FfiTypes {
  std::vector<std::unique_ptr<ffi_type>> types;
  std::vector<std::unique_ptr<ffi_type*[]>> elements;

  ffi_type* of(const Type* t) {
    switch (t->kind()) {
      case TypeKind::Bool: return &ffi_type_uint8;
      case TypeKind::I8: return &ffi_type_sint8;
      case TypeKind::U8: return &ffi_type_uint8;
      case TypeKind::I16: return &ffi_type_sint16;
      case TypeKind::U16: return &ffi_type_uint16;
      case TypeKind::I32: return &ffi_type_sint32;
      case TypeKind::U32: return &ffi_type_uint32;
      case TypeKind::I64: return &ffi_type_sint64;
      case TypeKind::U64: return &ffi_type_uint64;
      case TypeKind::F32: return &ffi_type_float;
      case TypeKind::F64: return &ffi_type_double;
      case TypeKind::F80: return &ffi_type_longdouble;
      case TypeKind::Pointer: return &ffi_type_pointer;
      case TypeKind::Void: return &ffi_type_void;
      case TypeKind::Struct: {
        if (t->packed() || t->declared_align()) return nullptr;
        std::vector<ffi_type*> el;
        for (const auto& f : t->fields()) {
          if (f.align) return nullptr;
          const Type* ft = f.type;
          std::size_t n = 1;
          while (ft->kind() == TypeKind::Array) {
            n *= ft->count();
            ft = ft->element();
          }
          ffi_type* e = of(ft);
          if (!e) return nullptr;
          for (std::size_t i = 0; i < n; ++i) el.push_back(e);
        }
        auto arr = std::make_unique<ffi_type*[]>(el.size() + 1);
        for (std::size_t i = 0; i < el.size(); ++i) arr[i] = el[i];
        arr[el.size()] = nullptr;
        auto ft = std::make_unique<ffi_type>();
        ft->size = 0;
        ft->alignment = 0;
        ft->type = FFI_TYPE_STRUCT;
        ft->elements = arr.get();
        elements.push_back(std::move(arr));
        types.push_back(std::move(ft));
        return types.back().get();
      }
      default:  // unions, __int128, __float128: no libffi type
        return nullptr;
    }
  }
};

struct Counts {
  long passed = 0, failed = 0, skipped = 0;
  long ffi_checked = 0, ffi_disagree = 0, ffi_skipped = 0;
};

struct CallbackCheck {
  const tramp::Signature* sig;
  const std::uint8_t* args_in;
  const std::uint8_t* ret_value;
  std::string error;
};

void check_callback_args(void* ret, void* const* args, void* user) {
  auto* c = static_cast<CallbackCheck*>(user);
  for (std::size_t i = 0; i < c->sig->arg_count(); ++i) {
    const Type* t = c->sig->args()[i];
    long at = compare(t, static_cast<const std::uint8_t*>(args[i]), c->args_in + i * kSlot);
    if (at >= 0 && c->error.empty())
      c->error = "callback argument " + std::to_string(i) + " byte " + std::to_string(at) + ": got " +
                 hex(static_cast<const std::uint8_t*>(args[i]), t->size()) + " want " + hex(c->args_in + i * kSlot, t->size());
  }
  if (!c->sig->ret()->is_void()) std::memcpy(ret, c->ret_value, c->sig->ret()->size());
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep every line if a case crashes the process
  std::string lib_path, manifest_path, filter;
  std::uint64_t seed = 12345;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--lib") lib_path = argv[i + 1];
    else if (a == "--manifest") manifest_path = argv[i + 1];
    else if (a == "--filter") filter = argv[i + 1];
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "conformance_run: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  void* lib = dlopen(lib_path.c_str(), RTLD_NOW);
  if (!lib) {
    std::fprintf(stderr, "conformance_run: %s\n", dlerror());
    return 2;
  }
  auto sym = [&](const std::string& name) { return dlsym(lib, name.c_str()); };
  auto* conf_args = static_cast<std::uint8_t*>(sym("conf_args"));
  auto* conf_args_in = static_cast<std::uint8_t*>(sym("conf_args_in"));
  auto* conf_ret_in = static_cast<std::uint8_t*>(sym("conf_ret_in"));
  auto* conf_ret_out = static_cast<std::uint8_t*>(sym("conf_ret_out"));
  if (!conf_args || !conf_args_in || !conf_ret_in || !conf_ret_out) {
    std::fprintf(stderr, "conformance_run: the case library lacks its buffers\n");
    return 2;
  }

  std::ifstream manifest(manifest_path);
  if (!manifest) {
    std::fprintf(stderr, "conformance_run: cannot read %s\n", manifest_path.c_str());
    return 2;
  }
  Counts n;
  long layouts = 0, layout_failed = 0;
  Rng rng{seed};
  tramp::Engine& engine = tramp::Engine::global();
  FfiTypes ffi;
  alignas(64) static std::uint8_t in[kSlot * kMaxArgs];
  alignas(64) static std::uint8_t ret_want[kSlot];
  alignas(64) static std::uint8_t ret_got[kSlot];

  for (std::string line; std::getline(manifest, line);) {
    std::istringstream ls(line);
    std::string kind, id;
    ls >> kind >> id;
    if (kind == "type") {
      std::string text;
      std::getline(ls >> std::ws, text);
      auto* row = static_cast<const unsigned long*>(sym("conf_layout_" + id));
      const Type* t = nullptr;
      try {
        t = tramp::parse_type(text);
      } catch (const tramp::Error& e) {
        std::printf("FAIL layout %s %s: %s\n", id.c_str(), text.c_str(), e.what());
        ++layout_failed;
        continue;
      }
      ++layouts;
      bool ok = row && row[0] == t->size() && row[1] == t->align();
      for (std::size_t i = 0; ok && i < t->fields().size(); ++i) ok = row[2 + i] == t->fields()[i].offset;
      if (!ok) {
        ++layout_failed;
        std::printf("FAIL layout %s %s: tramp size %zu align %zu, gcc size %lu align %lu\n", id.c_str(), text.c_str(),
                    t->size(), t->align(), row ? row[0] : 0, row ? row[1] : 0);
      }
      continue;
    }
    if (kind != "case") continue;
    std::string name, text;
    ls >> name;
    std::getline(ls >> std::ws, text);
    if (!filter.empty() && name.find(filter) == std::string::npos && id != filter) continue;

    std::string failure;
    auto fail = [&](const std::string& what) {
      if (failure.empty()) failure = what;
    };
    try {
      tramp::Signature sig = tramp::parse_signature(text);
      bool too_big = sig.ret()->size() > kSlot;
      for (const Type* t : sig.args()) too_big |= t->size() > kSlot;
      if (too_big || sig.arg_count() > kMaxArgs) {
        ++n.skipped;
        continue;
      }
      void* callee = sym("conf_callee_" + id);
      auto caller = reinterpret_cast<void (*)(void*)>(sym("conf_caller_" + id));
      if (!callee || !caller) throw std::runtime_error("missing symbols for case " + id);

      void* argv_[kMaxArgs];
      for (std::size_t i = 0; i < sig.arg_count(); ++i) {
        fill_value(sig.args()[i], in + i * kSlot, rng);
        argv_[i] = in + i * kSlot;
      }
      fill_value(sig.ret(), ret_want, rng);
      std::memcpy(conf_ret_in, ret_want, sig.ret()->size());

      auto check_call = [&](const char* how) {
        for (std::size_t i = 0; i < sig.arg_count(); ++i) {
          long at = compare(sig.args()[i], conf_args + i * kSlot, in + i * kSlot);
          if (at >= 0)
            fail(std::string(how) + " argument " + std::to_string(i) + " byte " + std::to_string(at) + ": callee got " +
                 hex(conf_args + i * kSlot, sig.args()[i]->size()) + " want " + hex(in + i * kSlot, sig.args()[i]->size()));
        }
        long at = compare(sig.ret(), ret_got, ret_want);
        if (at >= 0)
          fail(std::string(how) + " return byte " + std::to_string(at) + ": got " + hex(ret_got, sig.ret()->size()) +
               " want " + hex(ret_want, sig.ret()->size()));
      };

      // Downcall through the invoker, then through a bound stub.
      tramp::Invoker inv = engine.invoker(sig);
      std::memset(conf_args, 0xa5, kSlot * kMaxArgs);
      std::memset(ret_got, 0x5a, kSlot);
      inv(callee, ret_got, argv_);
      check_call("invoke");
      tramp::BoundCall bound = inv.bind(callee);
      std::memset(conf_args, 0xa5, kSlot * kMaxArgs);
      std::memset(ret_got, 0x5a, kSlot);
      bound(ret_got, argv_);
      check_call("bound");

      // Callback: the generated C caller passes conf_args_in to a thunk.
      std::memcpy(conf_args_in, in, kSlot * kMaxArgs);
      CallbackCheck cc{&sig, conf_args_in, ret_want, {}};
      tramp::Callback cb = engine.callback(sig, &check_callback_args, &cc);
      std::memset(conf_ret_out, 0x5a, kSlot);
      caller(const_cast<void*>(cb.code()));
      if (!cc.error.empty()) fail(cc.error);
      long at = compare(sig.ret(), conf_ret_out, ret_want);
      if (at >= 0)
        fail("callback return byte " + std::to_string(at) + ": caller got " + hex(conf_ret_out, sig.ret()->size()) +
             " want " + hex(ret_want, sig.ret()->size()));

      // libffi as a second opinion where it can express the signature.
      std::vector<ffi_type*> at_types;
      ffi_type* rt = ffi.of(sig.ret());
      bool expressible = rt != nullptr;
      for (const Type* t : sig.args()) {
        ffi_type* f = ffi.of(t);
        expressible &= f != nullptr;
        at_types.push_back(f);
      }
      ffi_cif cif;
      ffi_status st = FFI_BAD_TYPEDEF;
      if (expressible) {
        st = sig.variadic() ? ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(sig.fixed_count()),
                                               static_cast<unsigned>(sig.arg_count()), rt, at_types.data())
                            : ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(sig.arg_count()), rt, at_types.data());
      }
      bool same_layout = st == FFI_OK && (sig.ret()->is_void() || rt->size == sig.ret()->size());
      for (std::size_t i = 0; same_layout && i < sig.arg_count(); ++i)
        same_layout = at_types[i]->size == sig.args()[i]->size() && at_types[i]->alignment == sig.args()[i]->align();
      if (same_layout) {
        ++n.ffi_checked;
        std::memset(conf_args, 0xa5, kSlot * kMaxArgs);
        std::memset(ret_got, 0x5a, kSlot);
        ffi_call(&cif, FFI_FN(callee), ret_got, argv_);
        std::string before = failure;
        failure.clear();
        check_call("libffi");
        if (!failure.empty()) {
          ++n.ffi_disagree;
          std::printf("LIBFFI-DISAGREES case %s %s %s: %s\n", id.c_str(), name.c_str(), text.c_str(), failure.c_str());
        }
        failure = before;
      } else {
        ++n.ffi_skipped;
      }
    } catch (const std::exception& e) {
      fail(std::string("error: ") + e.what());
    }
    if (failure.empty()) {
      ++n.passed;
    } else {
      ++n.failed;
      std::printf("FAIL case %s %s %s: %s\n", id.c_str(), name.c_str(), text.c_str(), failure.c_str());
    }
  }
  std::printf("layouts: %ld checked against gcc, %ld wrong\n", layouts, layout_failed);
  std::printf("libffi differential: %ld cases checked, %ld where libffi disagrees with gcc, %ld not expressible in libffi\n",
              n.ffi_checked, n.ffi_disagree, n.ffi_skipped);
  std::printf("signatures (invoke + bound + callback each): %ld passed, %ld failed", n.passed, n.failed);
  if (n.skipped) std::printf(", %ld skipped", n.skipped);
  std::printf("\n");
  return n.failed || layout_failed || n.passed == 0 ? 1 : 0;
}
