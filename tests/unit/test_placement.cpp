// Placement through the engine (docs/code-arena.md, "Placement"): a bound stub next to its
// target, invoker stubs next to EngineOptions::code_near, a callback's veneer and thunk next
// to its handler, each falling back when a block has no room; and the code still runs.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <set>

#include "tramp/tramp.hpp"
#include "placement.hpp"
#include "wx_check.hpp"

namespace {

using tramp::Engine;
using tramp::EngineOptions;
using tramp::parse_signature;
using tramp::jit::CodeArena;

extern "C" {
__attribute__((noinline)) int p_add(int a, int b) { return a + b; }
__attribute__((noinline)) long p_labs(long a) { return a < 0 ? -a : a; }
}

void h_add(void* ret, void* const* args, void*) {
  *static_cast<int*>(ret) = *static_cast<const int*>(args[0]) + *static_cast<const int*>(args[1]);
}

const void* fn(auto* f) { return reinterpret_cast<const void*>(f); }

// The thunk a callback's veneer jumps to: the x86-64 veneer is `endbr64; mov r11, slot;
// jmp [r11]` (jit/x64_emitter.cpp), and its slot holds the thunk.
#if defined(__x86_64__)
const void* thunk_of(const tramp::Callback& cb) {
  const auto* code = static_cast<const std::uint8_t*>(cb.code());
  REQUIRE(code[4] == 0x49);  // REX.W + B: mov r11, imm64
  REQUIRE(code[5] == 0xBB);
  const void* const* slot = nullptr;
  std::memcpy(&slot, code + 6, 8);
  return *slot;
}
#endif

}  // namespace

TEST_CASE("placement: a bound stub lands in its target's 16 MiB block", "[placement]") {
  const tramp::Signature sig = parse_signature("i32(i32, i32)");
  {  // A target in a block with room (never called: the block holds no code).
    const tramp::test::EmptyBlock empty;
    REQUIRE(empty.block);
    Engine e;
    tramp::BoundCall b = e.invoker(sig).bind(empty.inside());
    CHECK(CodeArena::same_block(reinterpret_cast<const void*>(b.entry()), empty.inside()));
    CHECK(e.code_stats().placed == 1);
    CHECK(e.code_stats().not_placed == 0);
  }
  const tramp::Library libc = tramp::Library::open("libc.so.6");
  const void* targets[] = {fn(&p_add), libc.symbol("abs")};
  for (const void* target : targets) {
    INFO("target " << target);
    Engine e;
    tramp::Invoker inv = e.invoker(sig);
    // Looked at after the invoker's own code is mapped (where the kernel likes: it may take
    // the room, or be in the target's block itself and give the bound stub its place).
    const bool room = tramp::test::block_has_room(target, 64 * 1024);
    tramp::BoundCall b = inv.bind(target);
    // The target's block has room in nearly every process; when it has none, the stub went
    // elsewhere and says so.
    const bool placed = CodeArena::same_block(reinterpret_cast<const void*>(b.entry()), target);
    if (room) CHECK(placed);
    CHECK(e.code_stats().placed == (placed ? 1 : 0));
    CHECK(e.code_stats().not_placed == (placed ? 0 : 1));
    int x = -3, y = 4, r = 0;
    void* args[] = {&x, &y};
    b(&r, args);
    CHECK(r == (target == fn(&p_add) ? 1 : 3));  // abs ignores its second argument
  }
}

TEST_CASE("placement: invoker stubs go to EngineOptions::code_near, by default anywhere", "[placement]") {
  const tramp::Signature sig = parse_signature("i32(i32, i32)");
  int x = 2, y = 5;
  void* args[] = {&x, &y};
  {
    Engine e;  // no wish: the kernel's choice, and nothing counted
    int r = 0;
    e.invoker(sig)(fn(&p_add), &r, args);
    CHECK(r == 7);
    CHECK(e.code_stats().placed == 0);
    CHECK(e.code_stats().not_placed == 0);
  }
  // code_near in a block with room (the program's own blocks may have none: an ASan build's
  // code and data fill most of theirs).
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  Engine e(EngineOptions{empty.inside()});
  tramp::Invoker inv = e.invoker(sig);
  CHECK(CodeArena::same_block(reinterpret_cast<const void*>(inv.entry()), empty.inside()));
  auto direct = inv.direct<int>();
  CHECK(CodeArena::same_block(reinterpret_cast<const void*>(direct), empty.inside()));
  int r = 0;
  inv(fn(&p_add), &r, args);
  CHECK(r == 7);
  CHECK(direct(fn(&p_add), args) == 7);
  CHECK(e.code_stats().placed == 2);
  CHECK(tramp::test::find_wx_mapping() == "");
}

TEST_CASE("placement: a block without room falls back to code_near, then anywhere", "[placement]") {
  tramp::test::FullBlock full;
  REQUIRE(full.base);
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  const tramp::Signature sig = parse_signature("i32(i32, i32)");
  int x = 2, y = 5, r = 0;
  void* args[] = {&x, &y};
  // Invoker stubs wished into the full block: anywhere, and they run.
  Engine anywhere(EngineOptions{full.inside()});
  tramp::Invoker inv = anywhere.invoker(sig);
  CHECK_FALSE(CodeArena::same_block(reinterpret_cast<const void*>(inv.entry()), full.inside()));
  inv(fn(&p_add), &r, args);
  CHECK(r == 7);
  CHECK(anywhere.code_stats().not_placed == 1);
  // A bound stub whose target's block is full goes next to code_near. (Its target is never
  // called: the block holds no code.)
  Engine e(EngineOptions{empty.inside()});
  tramp::BoundCall b = e.invoker(sig).bind(full.inside());
  CHECK(CodeArena::same_block(reinterpret_cast<const void*>(b.entry()), empty.inside()));
}

TEST_CASE("placement: a callback's veneer and thunk go next to its handler", "[placement][callback]") {
  // The handler is this program's: its block has room in nearly every process (not in an
  // ASan build, whose code and data fill most of it); without room the callbacks go
  // elsewhere and say so.
  const bool room = tramp::test::block_has_room(fn(&h_add), 64 * 1024);
  Engine e;
  const tramp::Signature sig = parse_signature("i32(i32, i32)");
  tramp::Callback cb = e.callback(sig, &h_add);
  // Room seen beforehand means placed; without it the code may still land there (the address
  // space can change between the look and the reservation). The counts say which.
  const bool placed = CodeArena::same_block(cb.code(), fn(&h_add));
  if (room) CHECK(placed);
#if defined(__x86_64__)
  CHECK(CodeArena::same_block(thunk_of(cb), fn(&h_add)) == placed);
#endif
  CHECK(cb.as<int(int, int)>()(20, 22) == 42);
  // Many callbacks: each its own veneer, all in the handler's block, one thunk.
  std::vector<tramp::Callback> many;
  std::set<const void*> codes;
  for (int i = 0; i < 300; ++i) {
    many.push_back(e.callback(sig, &h_add));
    codes.insert(many.back().code());
    CHECK(CodeArena::same_block(many.back().code(), fn(&h_add)) == placed);
    CHECK(many.back().as<int(int, int)>()(i, 1) == i + 1);
  }
  CHECK(codes.size() == 300);
  CHECK((e.code_stats().not_placed == 0) == placed);
#if defined(__x86_64__)
  CHECK(thunk_of(many.back()) == thunk_of(cb));
  // A C++ callable's handler is libtramp's own function: in another block it gets a thunk of
  // its own. The thunks are told apart by their handlers' blocks, which the veneers show only
  // where both were placed: unplaced ones may share a block the kernel chose (as in an ASan
  // build, where neither block has room).
  const std::size_t missed = e.code_stats().not_placed;
  tramp::Callback lambda = e.callback(sig, [](void* ret, void* const* args) { h_add(ret, args, nullptr); });
  CHECK(lambda.as<int(int, int)>()(1, 2) == 3);
  if (placed && e.code_stats().not_placed == missed)
    CHECK((thunk_of(lambda) != thunk_of(cb)) == !CodeArena::same_block(lambda.code(), cb.code()));
#endif
}
