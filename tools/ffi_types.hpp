// tramp Types as libffi types, for the tools and tests that compare tramp with libffi
// (`tramp bench`, the conformance runner). Header-only: libffi is no dependency of the
// library itself.
#pragma once

#include <ffi.h>

#include <cfloat>
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tramp/type.hpp"

namespace tramp::tools {

using tramp::Type;
using tramp::TypeKind;

// libffi's `long double` is the host's: the x87 format on x86-64 (tramp's f80), IEEE
// binary128 on AArch64 Linux (tramp's f128). The other one has no libffi type.
#if LDBL_MANT_DIG == 64
constexpr TypeKind kFfiLongDouble = TypeKind::F80;
#elif LDBL_MANT_DIG == 113
constexpr TypeKind kFfiLongDouble = TypeKind::F128;
#else
constexpr TypeKind kFfiLongDouble = TypeKind::Void;
#endif

// libffi's description of a tramp Type, or nullptr where libffi cannot express it (unions,
// packed or over-aligned records, bit-fields, __int128, _Float16, complex and vector types,
// the long double format the host does not have).
// Arrays inside structs become repeated members, which libffi lays out the same way.
class FfiTypes {
 public:
  ffi_type* of(const Type* t) {
    switch (t->kind()) {
      case TypeKind::Void: return &ffi_type_void;
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
      case TypeKind::F80:
      case TypeKind::F128: return t->kind() == kFfiLongDouble ? &ffi_type_longdouble : nullptr;
      case TypeKind::Pointer: return &ffi_type_pointer;
      case TypeKind::Struct: break;
      default: return nullptr;
    }
    auto it = structs_.find(t);
    if (it != structs_.end()) return it->second;
    ffi_type* made = make_struct(t);
    structs_.emplace(t, made);
    return made;
  }

  // Whether libffi's layout of `f` (after ffi_prep_cif computed it) is tramp's layout of t,
  // member by member; libffi computes it itself, so a disagreement would make its result
  // meaningless rather than wrong.
  static bool same_layout(ffi_type* f, const Type* t) {
    if (f->size != t->size() || f->alignment != t->align()) return false;
    if (f->type != FFI_TYPE_STRUCT) return true;
    std::vector<std::pair<std::size_t, const Type*>> members;  // arrays expanded
    for (const auto& fld : t->fields()) expand(fld.type, fld.offset, members);
    std::size_t n = 0;
    while (f->elements[n]) ++n;
    if (n != members.size()) return false;
    std::vector<std::size_t> offsets(n);
    if (ffi_get_struct_offsets(FFI_DEFAULT_ABI, f, offsets.data()) != FFI_OK) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (offsets[i] != members[i].first || !same_layout(f->elements[i], members[i].second)) return false;
    return true;
  }

 private:
  static void expand(const Type* t, std::size_t off, std::vector<std::pair<std::size_t, const Type*>>& out) {
    if (t->kind() != TypeKind::Array) {
      out.emplace_back(off, t);
      return;
    }
    for (std::size_t i = 0; i < t->count(); ++i) expand(t->element(), off + i * t->element()->size(), out);
  }

  ffi_type* make_struct(const Type* t) {
    if (t->packed() || t->declared_align()) return nullptr;
    std::vector<ffi_type*> el;
    for (const auto& f : t->fields()) {
      if (f.align || f.is_bit_field()) return nullptr;  // libffi has no bit-fields
      const Type* leaf = f.type;
      std::size_t n = 1;
      while (leaf->kind() == TypeKind::Array) {
        n *= leaf->count();
        leaf = leaf->element();
      }
      ffi_type* e = of(leaf);
      if (!e || e == &ffi_type_void) return nullptr;
      el.insert(el.end(), n, e);
    }
    auto elements = std::make_unique<ffi_type*[]>(el.size() + 1);
    for (std::size_t i = 0; i < el.size(); ++i) elements[i] = el[i];
    elements[el.size()] = nullptr;
    auto ft = std::make_unique<ffi_type>();
    ft->size = 0;  // ffi_prep_cif computes size and alignment
    ft->alignment = 0;
    ft->type = FFI_TYPE_STRUCT;
    ft->elements = elements.get();
    element_arrays_.push_back(std::move(elements));
    types_.push_back(std::move(ft));
    return types_.back().get();
  }

  std::unordered_map<const Type*, ffi_type*> structs_;
  std::vector<std::unique_ptr<ffi_type>> types_;
  std::vector<std::unique_ptr<ffi_type*[]>> element_arrays_;
};

}  // namespace tramp::tools
