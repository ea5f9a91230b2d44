// The shared walks (jit/walk.cpp) and what they rest on: the table of ABIs, the uniform
// convention read from the host's own classifier, the register-return rule checked once on
// the plan, and the frame each product describes as data (every ABI, on any host).
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <string>

#include "abi/abis.hpp"
#include "abi/call_plan.hpp"
#include "jit/emitter.hpp"
#include "jit/isa.hpp"
#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::parse_signature;
using tramp::abi::Arch;
using tramp::abi::Loc;
using tramp::jit::Emitted;
using tramp::jit::Frame;
using tramp::jit::FrameRule;

namespace {

tramp::abi::CallPlan plan(const char* text, Abi abi) {
  return tramp::abi::classify(parse_signature(text, abi)).value();
}

// Every signature of the golden plan cases, with its ABI.
std::vector<std::pair<Abi, std::string>> golden_signatures() {
  std::vector<std::pair<Abi, std::string>> out;
  for (const auto& [file, abi] : {std::pair{"sysv_x64", Abi::SysV_X64}, std::pair{"win64", Abi::Win64},
                                  std::pair{"aapcs64", Abi::Aapcs64}, std::pair{"apple_arm64", Abi::AppleArm64}}) {
    std::ifstream in(std::string(TRAMP_SOURCE_DIR) + "/tests/golden/" + file + ".cases");
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') out.emplace_back(abi, line);
  }
  return out;
}

// Replays a frame's rules and checks each against the code: offsets within it and in order,
// the CFA never below the stack pointer's entry value, every register saved below the CFA
// and restored, and at the end the entry state again (every product ends in a return or a
// tail jump, where the caller's frame must be exactly as it was).
void check_frame(const Emitted& e) {
  const Frame& f = e.frame;
  std::uint32_t last = 0;
  FrameRule::Kind cfa_kind = FrameRule::Kind::CfaSp;
  std::uint32_t cfa_value = f.entry_cfa;
  std::set<std::pair<int, int>> saved;
  for (const FrameRule& r : f.rules) {
    INFO(f.str());
    REQUIRE(r.offset >= last);
    REQUIRE(r.offset <= e.code.size());
    last = r.offset;
    switch (r.kind) {
      case FrameRule::Kind::CfaSp:
      case FrameRule::Kind::CfaReg:
      case FrameRule::Kind::CfaSpMinusReg:
        cfa_kind = r.kind;
        cfa_value = r.value;
        break;
      case FrameRule::Kind::Saved:
        REQUIRE(r.value > 0);
        saved.insert({static_cast<int>(r.reg_kind), r.reg});
        break;
      case FrameRule::Kind::SavedAtSp:  // only where the CFA is found from a frame pointer
        REQUIRE(cfa_kind == FrameRule::Kind::CfaReg);
        saved.insert({static_cast<int>(r.reg_kind), r.reg});
        break;
      case FrameRule::Kind::Restored:
        REQUIRE(saved.erase({static_cast<int>(r.reg_kind), r.reg}) == 1);
        break;
    }
  }
  INFO(f.str());
  CHECK(cfa_kind == FrameRule::Kind::CfaSp);
  CHECK(cfa_value == f.entry_cfa);
  CHECK(saved.empty());
}

}  // namespace

TEST_CASE("walk: the ABI table lists every ABI once, in the order of tramp::Abi", "[walk]") {
  std::set<std::string_view> names;
  std::size_t i = 0;
  for (const tramp::abi::AbiInfo& row : tramp::abi::abis()) {
    INFO(row.name);
    CHECK(static_cast<std::size_t>(row.abi) == i++);
    CHECK(names.insert(row.name).second);
    CHECK(tramp::abi_name(row.abi) == row.name);
    CHECK(tramp::abi_from_name(row.name) == row.abi);
    CHECK(tramp::host_can_run(row.abi) == row.host_runs);
    CHECK(tramp::abi::arch_of(row.abi) == row.arch);
    CHECK(plan("void()", row.abi).arch == row.arch);  // the classifier the row names
    CHECK(tramp::abi::arch_of(row.uniform) == row.arch);
  }
  CHECK(i == 4);
  CHECK(tramp::host_can_run(tramp::host_abi()));
}

TEST_CASE("walk: the uniform convention comes from the host convention's own classifier", "[walk]") {
  namespace x64 = tramp::abi::x64;
  for (Abi abi : {Abi::SysV_X64, Abi::Win64}) {  // a Win64 thunk calls a SysV handler on Linux
    const auto& c = tramp::jit::uniform_convention(abi);
    CHECK(c.pointer_args[0] == x64::rdi);
    CHECK(c.pointer_args[1] == x64::rsi);
    CHECK(c.pointer_args[2] == x64::rdx);
    CHECK(c.int_result == x64::rax);
    CHECK(c.vec_result == 0);
    CHECK(c.callee_saved_gprs == x64::kSysVCalleeSavedGprs);
  }
  for (Abi abi : {Abi::Aapcs64, Abi::AppleArm64}) {
    const auto& c = tramp::jit::uniform_convention(abi);
    CHECK(c.pointer_args[0] == 0);
    CHECK(c.pointer_args[1] == 1);
    CHECK(c.pointer_args[2] == 2);
    CHECK(c.int_result == 0);
    CHECK(c.vec_result == 0);
    CHECK(c.callee_saved_gprs == tramp::abi::a64::kCalleeSavedGprs);
  }
}

TEST_CASE("walk: the register-return rule is one check on the plan", "[walk]") {
  CHECK(tramp::jit::register_return_piece(plan("i32(i32)", Abi::SysV_X64)).value().loc == Loc::gpr(0));
  CHECK(tramp::jit::register_return_piece(plan("f32()", Abi::Aapcs64)).value().loc == Loc::vec(0));
  for (const char* text : {"void()", "{i64, i64}()", "{f64, f64}()", "i128()", "{i64[4]}()"}) {
    INFO(text);
    const auto sysv = tramp::jit::register_return_piece(plan(text, Abi::SysV_X64));
    REQUIRE_FALSE(sysv);
    CHECK(sysv.error().what() == std::string("a register-return stub needs a value returned in rax or xmm0 alone"));
    const auto a64 = tramp::jit::register_return_piece(plan(text, Abi::Aapcs64));
    REQUIRE_FALSE(a64);
    CHECK(a64.error().what() == std::string("a register-return stub needs a value returned in x0 or v0 alone"));
    CHECK_THROWS_AS(tramp::jit::emit_register_return_stub(plan(text, Abi::Win64)), tramp::Error);
  }
}

TEST_CASE("walk: a frame says where the CFA is after each stack move", "[walk]") {
  // endbr64; push rsi (5): ret kept, the stack now 16 deeper; ... pop rcx (23) before the
  // stores through it.
  CHECK(tramp::jit::emit_call_stub(plan("i32(i32, i32)", Abi::SysV_X64)).frame.str() ==
        "entry: cfa = rsp+8\n5: cfa = rsp+16\n23: cfa = rsp+8\n");
  // A tail-jumping register-return stub makes no frame.
  CHECK(tramp::jit::emit_register_return_stub(plan("i32(i32, i32)", Abi::SysV_X64)).frame.rules.empty());
  // AArch64: stp x29, x30, [sp, #-32]! (8); mov x29, sp (12), which holds the CFA until the
  // ldp that restores x29 and x30.
  CHECK(tramp::jit::emit_call_stub(plan("i32(i32, i32)", Abi::Aapcs64)).frame.str() ==
        "entry: cfa = sp+0\n8: cfa = sp+32\n8: x29 at cfa-32\n8: x30 at cfa-24\n12: cfa = x29+32\n"
        "60: cfa = sp+0\n60: x29 restored\n60: x30 restored\n");
  // A Win64 thunk saves what its caller expects preserved and the SysV handler may clobber.
  const Frame win = tramp::jit::emit_callback_thunk(plan("i32(i32)", Abi::Win64)).frame;
  for (const char* reg : {"rsi at", "rdi at", "xmm6 at", "xmm15 at", "rsi restored", "xmm15 restored"}) {
    INFO(reg);
    CHECK(win.str().find(reg) != std::string::npos);
  }
}

TEST_CASE("walk: a stack probe loop keeps the CFA known at every instruction", "[walk]") {
  std::string many = "void(";
  for (int i = 0; i < 600; ++i) many += i ? ", i64" : "i64";
  many += ")";
  // The thunk's frame is 4864 bytes: endbr64; mov eax, 4856 (9); then the loop moves rsp
  // and rax in step, so the CFA is rsp - rax + the rest.
  const std::string x64 = tramp::jit::emit_callback_thunk(plan(many.c_str(), Abi::SysV_X64)).frame.str();
  CHECK(x64.find("9: cfa = rsp-rax+4864\n") != std::string::npos);
  CHECK(x64.find(": cfa = rsp-rax+8960\n") != std::string::npos);  // between sub rsp and sub rax
  CHECK(x64.find(": cfa = rsp+4864\n") != std::string::npos);
  const std::string a64 = tramp::jit::emit_callback_thunk(plan(many.c_str(), Abi::Aapcs64)).frame.str();
  CHECK(a64.find(": cfa = sp-x17+") != std::string::npos);
}

TEST_CASE("walk: every product's frame replays to its entry state (golden cases, every ABI)", "[walk]") {
  std::size_t products = 0;
  for (const auto& [abi, text] : golden_signatures()) {
    for (const char* suffix : {"", " errno", " errno(set)"}) {
      const std::string sig = text + suffix;
      INFO(tramp::abi_name(abi) << " " << sig);
      const auto classified = tramp::abi::classify(parse_signature(sig, abi));
      if (!classified) continue;  // the golden cases include signatures the ABI refuses
      const auto& p = classified.value();
      check_frame(tramp::jit::emit_call_stub(p));
      check_frame(tramp::jit::emit_call_stub(p, reinterpret_cast<const void*>(0x1234)));
      check_frame(tramp::jit::emit_callback_thunk(p));
      products += 3;
      if (tramp::jit::register_return_piece(p)) {
        check_frame(tramp::jit::emit_register_return_stub(p));
        ++products;
      }
    }
  }
  CHECK(products > 1500);
}
