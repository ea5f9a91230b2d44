// What tramp tells Linux perf (jit/perf_map.cpp): the lines of /tmp/perf-<pid>.map and the
// records of /tmp/jit-<pid>.dump, read back and checked against the code they describe.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

using tramp::Engine;
using tramp::parse_signature;
using tramp::PerfOutput;

namespace {

struct MapLine {
  std::uintptr_t start = 0;
  std::size_t size = 0;
  std::string name;
};

std::string map_path(long pid) { return "/tmp/perf-" + std::to_string(pid) + ".map"; }

// Removes a file when the test ends, passed or failed, and switches perf output off.
struct Cleanup {
  std::string path;
  ~Cleanup() {
    tramp::set_perf_output(PerfOutput::None);
    std::remove(path.c_str());
  }
};

// Every line of a perf map, parsed as perf does: two hex numbers, then the name to the end.
std::vector<MapLine> read_map(const std::string& path) {
  std::vector<MapLine> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    MapLine m;
    char* end = nullptr;
    m.start = std::strtoull(line.c_str(), &end, 16);
    REQUIRE(*end == ' ');
    char* name = nullptr;
    m.size = std::strtoull(end + 1, &name, 16);
    REQUIRE(*name == ' ');
    m.name = name + 1;
    out.push_back(m);
  }
  return out;
}

bool has_line(const std::vector<MapLine>& lines, const void* start, std::size_t size, const std::string& name) {
  for (const MapLine& m : lines)
    if (m.start == reinterpret_cast<std::uintptr_t>(start) && m.size == size && m.name == name) return true;
  return false;
}

bool has_name(const std::vector<MapLine>& lines, const std::string& name, std::size_t size) {
  for (const MapLine& m : lines)
    if (m.name == name && m.size == size) return true;
  return false;
}

extern "C" int perf_add(int a, int b) { return a + b; }

}  // namespace

TEST_CASE("perf: the map names every stub and thunk by its signature, at its address", "[perf]") {
  const std::string path = map_path(getpid());
  std::remove(path.c_str());
  const Cleanup cleanup{path};
  Engine& e = Engine::global();
  // Made before the map is switched on: written when it is.
  tramp::Invoker before = e.invoker(parse_signature("i32(i32, i32)"));
  tramp::set_perf_output(PerfOutput::Map);
  CHECK(tramp::perf_output() == PerfOutput::Map);
  tramp::Invoker after = e.invoker(parse_signature("f64(f64, ptr) errno"));
  tramp::BoundCall bound = before.bind(reinterpret_cast<const void*>(&perf_add));
  tramp::Callback cb = e.callback(parse_signature("i64(i8, f32)"), [](void*, void* const*, void*) {}, nullptr);
#if defined(__x86_64__)
  tramp::Callback win = e.callback(parse_signature("win64:i64(i8, f32)"), [](void*, void* const*, void*) {}, nullptr);
#endif
  tramp::set_perf_output(PerfOutput::None);
  CHECK(tramp::perf_output() == PerfOutput::None);

  const std::vector<MapLine> lines = read_map(path);
  const std::string host = std::string(tramp::abi_name(tramp::host_abi())) + ":";
  CHECK(has_line(lines, reinterpret_cast<const void*>(before.entry()), before.code_size(),
                 "tramp.call " + host + "i32(i32, i32)"));
  CHECK(has_line(lines, reinterpret_cast<const void*>(after.entry()), after.code_size(),
                 "tramp.call " + host + "f64(f64, ptr) errno"));
  CHECK(has_line(lines, reinterpret_cast<const void*>(bound.entry()), bound.code_size(),
                 "tramp.bound " + host + "i32(i32, i32)"));
  CHECK(has_name(lines, "tramp.thunk " + host + "i64(i8, f32)", cb.code_size()));
#if defined(__x86_64__)
  CHECK(has_name(lines, "tramp.thunk win64:i64(i8, f32)", win.code_size()));
#endif
  bool veneers = false;  // the block holding the callback's entry point
  for (const MapLine& m : lines)
    veneers = veneers || (m.name == "tramp.veneers" && m.start <= reinterpret_cast<std::uintptr_t>(cb.code()) &&
                          reinterpret_cast<std::uintptr_t>(cb.code()) < m.start + m.size);
  CHECK(veneers);
  // Nothing is written while the output is off.
  tramp::Invoker later = e.invoker(parse_signature("i16(i16)"));
  CHECK(read_map(path).size() == lines.size());
}

TEST_CASE("perf: a child of fork() writes its own map, with what it inherited", "[perf][fork]") {
  Engine& e = Engine::global();
  tramp::Invoker inherited = e.invoker(parse_signature("u8(u8, u8)"));
  const Cleanup cleanup{map_path(getpid())};
  tramp::set_perf_output(PerfOutput::Map);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    tramp::Invoker own = e.invoker(parse_signature("u32(u32, u32)"));
    const std::vector<MapLine> lines = read_map(map_path(getpid()));
    const bool ok = has_line(lines, reinterpret_cast<const void*>(inherited.entry()), inherited.code_size(),
                             "tramp.call " + std::string(tramp::abi_name(tramp::host_abi())) + ":u8(u8, u8)") &&
                    has_line(lines, reinterpret_cast<const void*>(own.entry()), own.code_size(),
                             "tramp.call " + std::string(tramp::abi_name(tramp::host_abi())) + ":u32(u32, u32)");
    std::remove(map_path(getpid()).c_str());
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The child's own stub is not in the parent's map.
  tramp::set_perf_output(PerfOutput::None);
  for (const MapLine& m : read_map(map_path(getpid()))) CHECK(m.name.find("u32(u32, u32)") == std::string::npos);
}

namespace {
template <class T>
T read_at(const std::vector<char>& bytes, std::size_t at) {
  REQUIRE(at + sizeof(T) <= bytes.size());
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}
}  // namespace

TEST_CASE("perf: a jitdump file holds a load record per piece of code, with its bytes", "[perf]") {
  const std::string path = "/tmp/jit-" + std::to_string(getpid()) + ".dump";
  const Cleanup cleanup{path};
  tramp::set_perf_output(PerfOutput::JitDump);
  tramp::Invoker inv = Engine::global().invoker(parse_signature("i64(i64, i64, i64) errno(set)"));
  tramp::set_perf_output(PerfOutput::None);  // closes the file with a JIT_CODE_CLOSE record

  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The header (jitdump-specification.txt): magic "JiTD", version 1, its size, the ELF
  // machine, the process.
  CHECK(read_at<std::uint32_t>(bytes, 0) == 0x4A695444u);
  CHECK(read_at<std::uint32_t>(bytes, 4) == 1u);
  const std::uint32_t header = read_at<std::uint32_t>(bytes, 8);
  CHECK(header == 40u);
#if defined(__x86_64__)
  CHECK(read_at<std::uint32_t>(bytes, 12) == 62u);  // EM_X86_64
#else
  CHECK(read_at<std::uint32_t>(bytes, 12) == 183u);  // EM_AARCH64
#endif
  CHECK(read_at<std::uint32_t>(bytes, 20) == static_cast<std::uint32_t>(getpid()));
  // Records: id, total size, timestamp; a JIT_CODE_LOAD is then pid, tid, vma, code_addr,
  // code_size, code_index, the name and the code.
  std::size_t at = header, loads = 0;
  bool found = false, closed = false;
  std::uint64_t last_time = 0;
  while (at < bytes.size()) {
    const auto id = read_at<std::uint32_t>(bytes, at);
    const auto size = read_at<std::uint32_t>(bytes, at + 4);
    const auto time = read_at<std::uint64_t>(bytes, at + 8);
    REQUIRE(size >= 16);
    REQUIRE(at + size <= bytes.size());
    CHECK(time >= last_time);
    last_time = time;
    if (id == 0) {
      ++loads;
      const auto addr = read_at<std::uint64_t>(bytes, at + 32);
      const auto code_size = read_at<std::uint64_t>(bytes, at + 40);
      const std::string name(bytes.data() + at + 56);
      CHECK(size == 56 + name.size() + 1 + code_size);
      if (addr == reinterpret_cast<std::uintptr_t>(inv.entry())) {
        found = true;
        CHECK(code_size == inv.code_size());
        CHECK(name == "tramp.call " + std::string(tramp::abi_name(tramp::host_abi())) + ":i64(i64, i64, i64) errno(set)");
        CHECK(std::memcmp(bytes.data() + at + 56 + name.size() + 1, reinterpret_cast<const void*>(inv.entry()),
                          code_size) == 0);
      }
    } else if (id == 3) {
      closed = true;
      CHECK(at + size == bytes.size());  // the last record
    }
    at += size;
  }
  CHECK(loads > 0);
  CHECK(found);
  CHECK(closed);
}

// Run by ctest with TRAMP_PERF_MAP=1 (perf_map_from_environment), hidden otherwise.
TEST_CASE("perf: TRAMP_PERF_MAP=1 switches the map on at the first engine", "[.perf_env]") {
  REQUIRE(std::getenv("TRAMP_PERF_MAP") != nullptr);
  const Cleanup cleanup{map_path(getpid())};
  CHECK(tramp::perf_output() == PerfOutput::Map);
  tramp::Invoker inv = Engine::global().invoker(parse_signature("i8(i8)"));
  CHECK(has_line(read_map(map_path(getpid())), reinterpret_cast<const void*>(inv.entry()), inv.code_size(),
                 "tramp.call " + std::string(tramp::abi_name(tramp::host_abi())) + ":i8(i8)"));
}
