// How far may a branch reach before it costs more? The experiment behind the code arena's
// placement rule (docs/code-arena.md, "Placement"). It copies small pieces of machine code
// into pages at chosen addresses and times calls through them:
//
//   1. one branch to a `ret`, a call or a jump, indirect or direct, with the target first
//      differing from the branch's address in bit b, for b from 14 to 46: anywhere within
//      2^(b+1), and within 64 KiB across a 2^b-aligned boundary, which tells whether the
//      distance or the aligned block decides;
//   2. the chain of a tramp call: a loop calls tramp's own register-return stub for
//      i32(i32, i32), which jumps to the callee (`lea eax, [rdi + rsi]; ret`), or its bound
//      stub, which calls it, with the loop, the stub and the callee in the same block or in
//      blocks 1 GiB to 16 TiB apart, against the loop calling the callee itself.
//
// Each cell is the median over random positions of the best of a few batches (the positions
// vary the predictors' indexing; the best batch is the one no other process disturbed). Pages
// are written, then made read+execute; this is a measurement, not the arena. x86-64 Linux.
//   tramp_branch_distance [--quick] [--reps N]
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tramp/tramp.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uintptr_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10, kTiB = kGiB << 10;
constexpr std::uintptr_t kPage = 4096;

int g_reps = 7;
long g_calls = 1 << 18;

// A page of code at exactly `at` (MAP_FIXED_NOREPLACE), written, then made read+execute.
// Null when the address is taken or outside the address space.
struct Page {
  std::uint8_t* at = nullptr;
  Page() = default;
  Page(std::uintptr_t where, const std::vector<std::uint8_t>& bytes, std::size_t offset = 0) {
    void* p = mmap(reinterpret_cast<void*>(where), kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return;
    if (reinterpret_cast<std::uintptr_t>(p) != where) {  // a kernel without NOREPLACE: a hint
      munmap(p, kPage);
      return;
    }
    std::memset(p, 0xCC, kPage);
    std::memcpy(static_cast<std::uint8_t*>(p) + offset, bytes.data(), bytes.size());
    mprotect(p, kPage, PROT_READ | PROT_EXEC);
    at = static_cast<std::uint8_t*>(p) + offset;
  }
  ~Page() {
    if (at) munmap(reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(at) & ~(kPage - 1)), kPage);
  }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  Page(Page&& o) noexcept : at(std::exchange(o.at, nullptr)) {}
  explicit operator bool() const { return at != nullptr; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void put32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int i = 0; i < 4; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

// The branch under test: a call or a jump, indirect (through rsi) or direct (rel32, the
// target within 2 GiB).
enum Branch { kCallReg, kCallRel, kJmpReg, kJmpRel };

// void loop(long n /*rdi*/, void* target /*rsi*/): n times the branch to target, which
// returns. A call is made from the loop itself; a jump from a trampoline 64 bytes into the
// loop's code, which the loop reaches with a near `call rel32`.
std::vector<std::uint8_t> loop_code(std::uintptr_t at, std::uintptr_t target, Branch branch) {
  constexpr std::size_t kTrampoline = 64;
  std::vector<std::uint8_t> c = {0xF3, 0x0F, 0x1E, 0xFA,  // endbr64
                                 0x53,                    // push rbx (aligns rsp for the calls)
                                 0x48, 0x89, 0xFB};       // mov rbx, rdi
  const std::size_t top = c.size();
  auto rel32 = [&](std::uint8_t op, std::uintptr_t from, std::uintptr_t to) {
    c.push_back(op);
    put32(c, static_cast<std::uint32_t>(to - (from + 5)));
  };
  switch (branch) {
    case kCallReg: c.insert(c.end(), {0xFF, 0xD6}); break;  // call rsi
    case kCallRel: rel32(0xE8, at + c.size(), target); break;
    default: rel32(0xE8, at + c.size(), at + kTrampoline); break;
  }
  c.insert(c.end(), {0x48, 0xFF, 0xCB});  // dec rbx
  const auto back = static_cast<std::int8_t>(static_cast<int>(top) - static_cast<int>(c.size() + 2));
  c.insert(c.end(), {0x75, static_cast<std::uint8_t>(back)});  // jnz top
  c.insert(c.end(), {0x5B, 0xC3});                              // pop rbx; ret
  if (branch == kJmpReg || branch == kJmpRel) {
    c.resize(kTrampoline, 0xCC);
    c.insert(c.end(), {0xF3, 0x0F, 0x1E, 0xFA});  // endbr64
    if (branch == kJmpReg) c.insert(c.end(), {0xFF, 0xE6});  // jmp rsi
    else rel32(0xE9, at + c.size(), target);
  }
  return c;
}

const std::vector<std::uint8_t> kRet = {0xF3, 0x0F, 0x1E, 0xFA, 0xC3};                    // endbr64; ret
const std::vector<std::uint8_t> kAdd = {0xF3, 0x0F, 0x1E, 0xFA, 0x8D, 0x04, 0x37, 0xC3};  // lea eax, [rdi+rsi]; ret

std::string size_text(std::intptr_t d) {
  const std::uintptr_t a = d < 0 ? static_cast<std::uintptr_t>(-d) : static_cast<std::uintptr_t>(d);
  char buf[48];
  const char* sign = d < 0 ? "-" : "+";
  if (a >= kTiB && a % kTiB == 0) std::snprintf(buf, sizeof buf, "%s%zu TiB", sign, static_cast<std::size_t>(a / kTiB));
  else if (a >= kGiB && a % kGiB == 0) std::snprintf(buf, sizeof buf, "%s%zu GiB", sign, static_cast<std::size_t>(a / kGiB));
  else if (a >= kMiB && a % kMiB == 0) std::snprintf(buf, sizeof buf, "%s%zu MiB", sign, static_cast<std::size_t>(a / kMiB));
  else std::snprintf(buf, sizeof buf, "%s%zu KiB", sign, static_cast<std::size_t>(a / kKiB));
  return buf;
}

// The experiment's pages go below this (PIE) executable, in the 16 TiB block
// [0x400000000000, 0x500000000000), which the kernel leaves empty: below the executable,
// far above the first mappings and below the shared libraries near the top of the address
// space. A page that is taken anyway is drawn again.
constexpr std::uintptr_t kRegion = 0x400000000000, kRegionSize = std::uintptr_t{1} << 44;

std::uint64_t g_rng = 0x9E3779B97F4A7C15u;
std::uint64_t rnd() {  // xorshift64*: the positions need to vary, not to be secret
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545F4914F6CDD1Du;
}
// A random offset in a page for a piece of code (16-aligned, at most 128 bytes before the
// page's end): equal offsets everywhere would make the predictors' indexing alias in one
// particular way in every test.
std::uintptr_t random_offset() { return rnd() % ((kPage - 128) / 16) * 16; }
// A random code address in [lo, lo + size).
std::uintptr_t random_at(std::uintptr_t lo, std::uintptr_t size) { return lo + rnd() % (size / kPage) * kPage + random_offset(); }
// An address whose highest bit differing from `l` is bit b: l's bits above b, bit b flipped,
// bits below b drawn at random (so the distance is anything up to 2^(b+1)).
std::uintptr_t differing_from(std::uintptr_t l, int b) {
  const std::uintptr_t bit = std::uintptr_t{1} << b;
  const std::uintptr_t t = (l & ~(bit | (bit - 1))) | (~l & bit) | (rnd() & (bit - 1) & ~(kPage - 1));
  return t + random_offset();
}

using LoopFn = void (*)(long, const void*);

// ns per call of one call from a loop at `loop_at` to a `ret` at `target_at`: the best of the
// batches (what an interrupted batch or a busy neighbour leaves alone); 0 if either page is
// taken.
double one_branch(std::uintptr_t loop_at, std::uintptr_t target_at, Branch branch) {
  Page target(target_at & ~(kPage - 1), kRet, target_at & (kPage - 1));
  Page loop(loop_at & ~(kPage - 1), loop_code(loop_at, target_at, branch), loop_at & (kPage - 1));
  if (!target || !loop) return 0;
  auto f = reinterpret_cast<LoopFn>(loop.at);
  const void* t = target.at;
  f(g_calls, t);
  double best = 1e9;
  for (int i = 0; i < g_reps; ++i) {
    const auto t0 = Clock::now();
    f(g_calls, t);
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(g_calls));
  }
  return best;
}

// The median over `positions` random placements of make() -> {loop, target} addresses.
template <class Make>
double over_positions(int positions, Branch branch, Make make) {
  std::vector<double> v;
  for (int tries = 0; static_cast<int>(v.size()) < positions && tries < positions * 8; ++tries) {
    const auto [l, t] = make();
    if (const double ns = one_branch(l, t, branch); ns > 0) v.push_back(ns);
  }
  return v.empty() ? 0 : median(v);
}

std::string cell(double ns) {
  if (!(ns > 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", ns);
  return buf;
}

// Section 1: is it the distance or the aligned block, and which branches? For each bit b, a
// branch whose target first differs from the branch's own address in bit b, placed two ways:
// anywhere in the 2^(b+1) block (bit b flipped, the bits below drawn at random: up to
// 2^(b+1) away), and within 64 KiB across a boundary of 2^b (the branch below an odd multiple
// of 2^b, the target above it). Equal columns mean that the block decides, not the distance.
void section_blocks(int positions, int step) {
  std::printf("## 1. One branch to a `ret`: the highest address bit in which the branch and its target differ\n\n"
              "median over %d random positions in [0x%zx, 0x%zx), each the best of %d batches of %ld calls; "
              "ns per loop iteration (the branch, the `ret`, the loop's own `dec`/`jnz`; a jump also the near call "
              "of its trampoline). Indirect: `call rsi`, `jmp rsi`; direct: `call rel32`, `jmp rel32` (targets "
              "within 2 GiB). \"anywhere\": the target anywhere in the 2^(b+1) block with bit b flipped; "
              "\"across\": within 64 KiB, across a boundary of 2^b\n\n"
              "| highest differing bit b | `call rsi` anywhere | `call rsi` across | `jmp rsi` anywhere | "
              "`call rel32` anywhere | `jmp rel32` anywhere |\n|---|---:|---:|---:|---:|---:|\n",
              positions, static_cast<std::size_t>(kRegion), static_cast<std::size_t>(kRegion + kRegionSize),
              g_reps, g_calls);
  for (int b = 14; b <= 46; b += step) {
    const std::uintptr_t bit = std::uintptr_t{1} << b;
    auto anywhere = [&] {
      const std::uintptr_t l = random_at(kRegion, kRegionSize);
      return std::pair{l, differing_from(l, b)};
    };
    auto across = [&] {
      // An odd multiple of 2^b inside the region (for b = 44 and up, the region's own edge).
      const std::uintptr_t m = b >= 44 ? kRegion + kRegionSize : kRegion + ((rnd() % (kRegionSize >> b)) | 1) * bit;
      return std::pair{m - (1 + rnd() % 8) * kPage + random_offset(), m + rnd() % 8 * kPage + random_offset()};
    };
    // Anywhere in 2^(b+1) reaches up to 2^(b+1) away: rel32 only while that is under 2 GiB.
    const bool rel = b + 1 < 31;
    std::printf("| %d (%s block) | %s | %s | %s | %s | %s |\n", b, size_text(static_cast<std::intptr_t>(bit)).c_str() + 1,
                cell(over_positions(positions, kCallReg, anywhere)).c_str(),
                cell(over_positions(positions, kCallReg, across)).c_str(),
                cell(over_positions(positions, kJmpReg, anywhere)).c_str(),
                rel ? cell(over_positions(positions, kCallRel, anywhere)).c_str() : "-",
                rel ? cell(over_positions(positions, kJmpRel, anywhere)).c_str() : "-");
    std::fflush(stdout);
  }
}

// void loop(long n /*rdi*/, const void* stub /*rsi*/, const void* fn /*rdx*/, void* const* args /*rcx*/):
// n calls of stub(fn, args), or with `direct`, of fn(3, 4).
std::vector<std::uint8_t> chain_loop_code(bool direct) {
  std::vector<std::uint8_t> c = {0xF3, 0x0F, 0x1E, 0xFA,  // endbr64
                                 0x53, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56,  // push rbx, r12, r13, r14
                                 0x48, 0x83, 0xEC, 0x08,                    // sub rsp, 8
                                 0x48, 0x89, 0xFB,                          // mov rbx, rdi
                                 0x49, 0x89, 0xF4,                          // mov r12, rsi
                                 0x49, 0x89, 0xD5,                          // mov r13, rdx
                                 0x49, 0x89, 0xCE};                         // mov r14, rcx
  const std::size_t top = c.size();
  if (direct)
    c.insert(c.end(), {0xBF, 3, 0, 0, 0, 0xBE, 4, 0, 0, 0, 0x41, 0xFF, 0xD5});  // mov edi, 3; mov esi, 4; call r13
  else
    c.insert(c.end(), {0x4C, 0x89, 0xEF, 0x4C, 0x89, 0xF6, 0x41, 0xFF, 0xD4});  // mov rdi, r13; mov rsi, r14; call r12
  c.insert(c.end(), {0x48, 0xFF, 0xCB});  // dec rbx
  const auto back = static_cast<std::int8_t>(static_cast<int>(top) - static_cast<int>(c.size() + 2));
  c.insert(c.end(), {0x75, static_cast<std::uint8_t>(back)});  // jnz top
  c.insert(c.end(), {0x48, 0x83, 0xC4, 0x08,                   // add rsp, 8
                     0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5B, 0xC3});  // pop r14, r13, r12, rbx; ret
  return c;
}

// Section 2: the chain of a tramp call. A loop at E calls one of tramp's stubs for
// i32(i32, i32) at S: the register-return stub with (fn, args), which loads the two arguments
// and jumps to the callee at C, or the bound stub with (ret, args), which calls C and stores
// the result. The baseline: a loop at E calls C directly. Each case places E, S and C by
// blocks: "near" is the same 16 MiB-aligned block, "far" a block 1 GiB, 64 GiB or 16 TiB away.
void section_chain(int positions) {
  const tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
  const std::vector<std::uint8_t> stub = tramp::machine_code(sig, tramp::CodeKind::RegisterReturn);
  std::printf("\n## 2. The chain of a call: a loop at E -> tramp's stub for i32(i32, i32) at S -> callee at C\n\n"
              "the register-return stub (%zu bytes) jumps to C, the bound stub (%zu bytes) calls it; baseline: "
              "the loop at E calls C itself; median over %d random positions, each the best of %d batches of "
              "%ld calls\n\n"
              "| E -> S | S -> C | E -> C (direct) | direct ns | register-return stub ns | ratio | bound stub ns "
              "| ratio |\n|---|---|---|---:|---:|---:|---:|---:|\n",
              stub.size(), tramp::machine_code(sig, tramp::CodeKind::Bound, &kAdd).size(), positions, g_reps,
              g_calls);
  struct Case {
    const char* e_s;
    const char* s_c;
    const char* e_c;
    std::uintptr_t s_off, c_off;  // pages of S and C from E's page (E in a random 16 MiB block's middle)
  };
  const std::uintptr_t near1 = 64 * kKiB, near2 = 128 * kKiB;
  const Case cases[] = {
      {"near", "near", "near", near1, near2},
      {"near", "1 GiB", "1 GiB", near1, kGiB},
      {"1 GiB", "near", "1 GiB", kGiB, kGiB + near1},
      {"1 GiB", "1 GiB", "near", kGiB, near1},
      {"64 GiB", "near", "64 GiB", 64 * kGiB, 64 * kGiB + near1},
      {"64 GiB", "64 GiB", "near", 64 * kGiB, near1},
      {"16 TiB", "near", "16 TiB", 16 * kTiB, 16 * kTiB + near1},
      {"16 TiB", "16 TiB", "near", 16 * kTiB, near1},
      {"1 GiB", "2 GiB", "1 GiB", kGiB, std::uintptr_t{0} - kGiB},
  };
  const auto stub_loop = chain_loop_code(false), direct_loop = chain_loop_code(true);
  int a = 3, b = 4;
  void* args[] = {&a, &b};
  int ret = 0;
  using ChainFn = void (*)(long, const void*, const void*, void* const*);
  for (const Case& k : cases) {
    std::vector<double> d, t, bt;
    for (int tries = 0; static_cast<int>(d.size()) < positions && tries < positions * 8; ++tries) {
      // E in the lower half of the region, so that E + 16 TiB - 1 GiB... stays in the user range.
      const std::uintptr_t e = kRegion + rnd() % (kRegionSize / 2 / (16 * kMiB)) * 16 * kMiB + 8 * kMiB;
      Page pe(e, stub_loop, random_offset());
      Page pd(e + 4 * kKiB, direct_loop, random_offset());  // the direct loop: next page, same block
      Page ps(e + k.s_off, stub, random_offset()), pc(e + k.c_off, kAdd, random_offset());
      if (!pe || !pd || !ps || !pc) continue;
      // The bound stub with C baked in, on the page after the register-return stub's.
      Page pb(e + k.s_off + kPage, tramp::machine_code(sig, tramp::CodeKind::Bound, pc.at), random_offset());
      if (!pb) continue;
      // The loop passes its third argument as the stub's first: fn, or for the bound stub ret.
      auto time = [&](const Page& loop, const void* stub_at, const void* first) {
        auto f = reinterpret_cast<ChainFn>(loop.at);
        f(g_calls, stub_at, first, args);
        double best = 1e9;
        for (int i = 0; i < g_reps; ++i) {
          const auto t0 = Clock::now();
          f(g_calls, stub_at, first, args);
          best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
                                    static_cast<double>(g_calls));
        }
        return best;
      };
      d.push_back(time(pd, nullptr, pc.at));
      t.push_back(time(pe, ps.at, pc.at));
      bt.push_back(time(pe, pb.at, &ret));
      if (ret != 7) std::abort();
    }
    if (d.empty()) {
      std::printf("| %s | %s | %s | (addresses taken) | | | | |\n", k.e_s, k.s_c, k.e_c);
      continue;
    }
    const double dm = median(d), tm = median(t), bm = median(bt);
    std::printf("| %s | %s | %s | %.2f | %.2f | %.2fx | %.2f | %.2fx |\n", k.e_s, k.s_c, k.e_c, dm, tm, tm / dm, bm,
                bm / dm);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
      g_reps = 3;
      g_calls = 1 << 14;
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      g_reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: tramp_branch_distance [--reps N] [--quick]\n");
      return 2;
    }
  }
  std::printf("# Branch distance on this machine\n\n");
  section_blocks(quick ? 3 : 9, quick ? 4 : 1);
  section_chain(quick ? 3 : 15);
  return 0;
}
