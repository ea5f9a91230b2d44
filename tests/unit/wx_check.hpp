// Reads /proc/self/maps and reports any mapping that is writable and executable at once.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace tramp::test {

// "" when no mapping is both writable and executable, else the first offending line.
inline std::string find_wx_mapping() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    std::string range, perms;
    in >> range >> perms;
    if (perms.size() >= 3 && perms[1] == 'w' && perms[2] == 'x') return line;
  }
  return "";
}

// Number of mappings the arena made (named after its memfd).
inline int count_code_mappings() {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("tramp-code") != std::string::npos) ++n;
  return n;
}

}  // namespace tramp::test
