#include <dlfcn.h>

#include <string>

#include "tramp/engine.hpp"

namespace tramp {

namespace {
std::string loader_message() {
  const char* msg = dlerror();
  return msg ? msg : "unknown loader error";
}
}  // namespace

Library Library::open(const std::string& name) {
  void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) throw Error(ErrorCode::Library, "cannot open library '" + name + "': " + loader_message());
  return Library(std::shared_ptr<void>(h, [](void* p) { dlclose(p); }), name);
}

Library Library::self() {
  void* h = dlopen(nullptr, RTLD_NOW);
  if (!h) throw Error(ErrorCode::Library, "cannot open the running program: " + loader_message());
  return Library(std::shared_ptr<void>(h, [](void* p) { dlclose(p); }), "(self)");
}

void* Library::find(std::string_view name) const noexcept {
  std::string n(name);
  return dlsym(handle_.get(), n.c_str());
}

void* Library::symbol(std::string_view name) const {
  dlerror();
  std::string n(name);
  void* p = dlsym(handle_.get(), n.c_str());
  if (!p) {
    const char* msg = dlerror();
    throw Error(ErrorCode::Library, "symbol '" + n + "' not found in " + name_ +
                                        (msg ? std::string(": ") + msg : std::string()));
  }
  return p;
}

Function Engine::function(const Library& lib, std::string_view c_declaration) {
  CFunction decl = parse_c_function(c_declaration);
  void* target = lib.symbol(decl.name);
  Invoker inv = invoker(decl.signature);
  return Function(std::move(decl), lib, target, inv);
}

Function Engine::function(const Library& lib, const CScope& scope, std::string_view name) {
  const CFunction* decl = scope.function(name);
  if (!decl) throw Error(ErrorCode::Syntax, "no function '" + std::string(name) + "' declared in the scope");
  void* target = lib.symbol(decl->name);
  Invoker inv = invoker(decl->signature);
  return Function(*decl, lib, target, inv);
}

}  // namespace tramp
