// Golden tests: the text form of SysV x86-64, Win64, AAPCS64 and Apple arm64 plans for
// hand-picked signatures. Classification is pure, so every ABI's plans are checked on every host.
// TRAMP_BLESS=1 rewrites the golden file from the current classifier; review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "abi/call_plan.hpp"
#include "tramp/signature.hpp"

namespace {

std::vector<std::string> read_cases(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::string> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    cases.push_back(line);
  }
  return cases;
}

// One block per case: the plan's text, or the classification error.
std::string render(const std::string& text, tramp::Abi abi) {
  try {
    tramp::Signature sig = tramp::parse_signature(text, abi);
    auto plan = tramp::abi::classify(sig);
    if (!plan) return "== " + text + "\nerror: " + plan.error().what() + "\n";
    return "== " + text + "\n" + plan.value().str(sig);
  } catch (const tramp::Error& e) {
    return "== " + text + "\nerror: " + e.what() + "\n";
  }
}

void check_golden(const std::string& name, tramp::Abi abi) {
  const std::string dir = std::string(TRAMP_SOURCE_DIR) + "/tests/golden/";
  std::vector<std::string> cases = read_cases(dir + name + ".cases");
  std::vector<std::string> actual;
  for (const auto& c : cases) actual.push_back(render(c, abi));

  const std::string golden_path = dir + name + ".golden";
  if (const char* bless = std::getenv("TRAMP_BLESS"); bless && *bless == '1') {
    std::ofstream out(golden_path);
    for (const auto& a : actual) out << a;
    WARN("blessed " << golden_path);
    return;
  }
  std::ifstream in(golden_path);
  REQUIRE(in.good());
  std::vector<std::string> expected;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("== ", 0) == 0) expected.emplace_back();
    REQUIRE(!expected.empty());
    expected.back() += line + "\n";
  }
  REQUIRE(expected.size() == actual.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("case " << i << ": " << cases[i]);
    CHECK(actual[i] == expected[i]);
  }
}

}  // namespace

TEST_CASE("SysV x86-64 plans match the golden file", "[golden][sysv]") {
  check_golden("sysv_x64", tramp::Abi::SysV_X64);
}

TEST_CASE("Win64 plans match the golden file", "[golden][win64]") {
  check_golden("win64", tramp::Abi::Win64);
}

TEST_CASE("SysV classification is deterministic", "[sysv]") {
  auto sig = tramp::parse_signature("{f32, f32, f64}(i32, {i8, f64}, f80, ...f64)", tramp::Abi::SysV_X64);
  auto a = tramp::abi::classify(sig);
  auto b = tramp::abi::classify(sig);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a.value().str(sig) == b.value().str(sig));
}

TEST_CASE("SysV refuses unpromoted variadic arguments and names them", "[sysv]") {
  using tramp::abi::classify;
  auto sig = tramp::parse_signature("i32(ptr, ...f64, f32)", tramp::Abi::SysV_X64);
  auto plan = classify(sig);
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().code() == tramp::ErrorCode::Unsupported);
  CHECK_THAT(plan.error().what(), Catch::Contains("argument 2") && Catch::Contains("double"));

  auto sig2 = tramp::parse_signature("i32(ptr, ...i8)", tramp::Abi::SysV_X64);
  auto plan2 = classify(sig2);
  REQUIRE_FALSE(plan2.ok());
  CHECK_THAT(plan2.error().what(), Catch::Contains("argument 1") && Catch::Contains("int"));
}

TEST_CASE("AAPCS64 plans match the golden file", "[golden][aapcs64]") {
  check_golden("aapcs64", tramp::Abi::Aapcs64);
}

TEST_CASE("Apple arm64 plans match the golden file", "[golden][apple]") {
  check_golden("apple_arm64", tramp::Abi::AppleArm64);
}
