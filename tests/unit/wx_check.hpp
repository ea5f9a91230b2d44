// tramp tests: reads /proc/self/maps to check the W^X invariant ("no page is ever writable
// and executable at once") and to find the arena's views. Header-only, no Catch2, so any
// test (arena, engine, callbacks) can include it. Linux only; elsewhere the readers return
// nothing and the checks pass vacuously.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tramp::test {

struct Mapping {
  std::uintptr_t start = 0, end = 0;
  std::string perms;  // "r-xs", "rw-p", ...
  std::string path;   // may be empty; e.g. "/memfd:tramp-code (deleted)"
  std::string line;   // the line as the kernel wrote it

  bool readable() const { return perms.size() > 0 && perms[0] == 'r'; }
  bool writable() const { return perms.size() > 1 && perms[1] == 'w'; }
  bool executable() const { return perms.size() > 2 && perms[2] == 'x'; }
  bool shared() const { return perms.size() > 3 && perms[3] == 's'; }
  bool contains(const void* p) const {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    return a >= start && a < end;
  }
};

// Every mapping of this process, in address order.
inline std::vector<Mapping> read_maps() {
  std::vector<Mapping> out;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    Mapping m;
    std::string range, offset, dev, inode;
    in >> range >> m.perms >> offset >> dev >> inode;
    auto dash = range.find('-');
    if (dash == std::string::npos) continue;
    m.start = std::stoull(range.substr(0, dash), nullptr, 16);
    m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    std::getline(in >> std::ws, m.path);
    m.line = std::move(line);
    out.push_back(std::move(m));
  }
  return out;
}

// "" when no mapping is both writable and executable, else the first offending line.
inline std::string find_wx_mapping() {
  for (const Mapping& m : read_maps())
    if (m.writable() && m.executable()) return m.line;
  return "";
}

// The mapping that holds `p`, or an empty Mapping (perms "") if none does.
inline Mapping mapping_of(const void* p) {
  for (Mapping& m : read_maps())
    if (m.contains(p)) return m;
  return {};
}

// Number of mappings the code arena made: its memfd is named "tramp-code", and its fallback
// temporary files are "tramp-code-XXXXXX". Two per chunk (the writable and the executable
// view), unless the kernel merged adjacent views of one file.
inline int count_code_mappings() {
  int n = 0;
  for (const Mapping& m : read_maps())
    if (m.path.find("tramp-code") != std::string::npos) ++n;
  return n;
}

}  // namespace tramp::test
