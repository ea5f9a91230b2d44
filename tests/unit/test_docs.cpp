// The example tables of docs/signatures.md hold: every signature in the examples parses and
// round-trips, and every error line is what the parser says for its input. (The C and C++
// examples of the docs are compiled and run as the doc_* tests.)
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

namespace {

// The fenced blocks without a language (``` alone), each as its lines.
std::vector<std::vector<std::string>> plain_blocks(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::vector<std::string>> blocks;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) {
      if (!inside && line == "```") blocks.emplace_back();
      inside = !inside && line == "```";
      continue;
    }
    if (inside) blocks.back().push_back(line);
  }
  return blocks;
}

// "left    right" split at the first run of 4+ spaces; right is empty when there is none.
std::pair<std::string, std::string> columns(const std::string& line) {
  std::size_t gap = line.find("    ");
  if (gap == std::string::npos) return {line, ""};
  std::size_t right = line.find_first_not_of(' ', gap);
  return {line.substr(0, gap), right == std::string::npos ? "" : line.substr(right)};
}

}  // namespace

TEST_CASE("docs/signatures.md: the examples parse and the error lines are the parser's", "[docs]") {
  auto blocks = plain_blocks(std::string(TRAMP_SOURCE_DIR) + "/docs/signatures.md");
  REQUIRE(blocks.size() >= 4);
  // Block 0: signature examples, the C meaning beside them.
  int examples = 0;
  for (const std::string& line : blocks[0]) {
    INFO(line);
    const std::string text = columns(line).first;
    tramp::Signature sig = tramp::parse_signature(text);
    CHECK(tramp::parse_signature(sig.str(true)) == sig);
    ++examples;
  }
  CHECK(examples >= 10);
  // Blocks whose lines start "at N:": the message the parser gives for the input beside it.
  int errors = 0;
  for (const auto& block : blocks) {
    for (const std::string& line : block) {
      if (line.rfind("at ", 0) != 0) continue;
      auto [message, input] = columns(line);
      INFO(line);
      REQUIRE_FALSE(input.empty());
      std::string got;
      try {
        tramp::parse_signature(input);
        got = "no error";
      } catch (const tramp::Error& e) {
        got = e.what();
      }
      // A message cut with "..." in the table matches up to there.
      const std::size_t cut = message.find("...");
      const std::string expected = cut == std::string::npos ? message : message.substr(0, cut);
      while (!message.empty() && message.back() == ' ') message.pop_back();
      CHECK(got.substr(0, expected.size()) == expected);
      if (cut == std::string::npos) CHECK(got == message);
      ++errors;
    }
  }
  CHECK(errors >= 14);
}
