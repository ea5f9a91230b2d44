// tramp tests: a digest of the machine code tramp emits for every signature of the golden
// plan cases (tests/golden/*.cases), every ABI and every product, pinned in
// tests/golden/machine_code.digest. It shows that a change meant to leave existing code alone
// (an option a signature does not use, such as ErrnoMode) does: one line per signature and
// product, "abi kind size fnv1a64" or "abi kind error". Public API only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

namespace tramp::test {

inline std::string code_digest_lines(const std::string& golden_dir) {
  struct File {
    const char* name;
    Abi abi;
  };
  const File files[] = {{"sysv_x64", Abi::SysV_X64}, {"win64", Abi::Win64}, {"aapcs64", Abi::Aapcs64},
                        {"apple_arm64", Abi::AppleArm64}};
  const std::pair<CodeKind, const char*> kinds[] = {{CodeKind::Invoke, "invoke"},
                                                    {CodeKind::Bound, "bound"},
                                                    {CodeKind::RegisterReturn, "direct"},
                                                    {CodeKind::Callback, "thunk"}};
  std::string out;
  for (const File& f : files) {
    std::ifstream in(golden_dir + "/" + f.name + ".cases");
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      out += "== " + std::string(abi_name(f.abi)) + " " + line + "\n";
      for (const auto& [kind, kind_name] : kinds) {
        std::string result;
        try {
          Signature sig = parse_signature(line, f.abi);
          const void* fn = reinterpret_cast<const void*>(std::uintptr_t{0x123456789a});
          const void* user = reinterpret_cast<const void*>(std::uintptr_t{0x5678});
          std::vector<std::uint8_t> code = machine_code(sig, kind, fn, user);
          std::uint64_t h = 0xcbf29ce484222325ULL;
          for (std::uint8_t b : code) h = (h ^ b) * 0x100000001b3ULL;
          char buf[64];
          std::snprintf(buf, sizeof buf, "%zu %016llx", code.size(), static_cast<unsigned long long>(h));
          result = buf;
        } catch (const Error&) {
          result = "error";
        }
        out += std::string("  ") + kind_name + " " + result + "\n";
      }
    }
  }
  return out;
}

}  // namespace tramp::test
