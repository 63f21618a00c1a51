// The eBPF translation against libpcap's interpreter of the classic program
// it came from. Each translated program is loaded into the kernel (whose
// verifier must accept it) and run with BPF_PROG_TEST_RUN: a socket filter
// must return what bpf_filter returns, an XDP program XDP_DROP where
// bpf_filter returns non-zero and XDP_PASS otherwise.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "backend/ebpf/long_jumps.hpp"
#include "backend/ebpf/translate.hpp"
#include "backend/ebpf/loader.hpp"
#include "p0fbpf/xdp_c.hpp"
#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf::testing {
namespace {

constexpr const char* kDatabase = "/etc/p0f/p0f.fp";
constexpr std::size_t kEthernetHeader = 14;

const char* target_name(ebpf::Target target) { return target == ebpf::Target::Xdp ? "XDP" : "socket filter"; }

// Whether this process may load and test-run eBPF programs at all.
bool kernel_runs_ebpf() {
  BpfProgram accept_all;
  accept_all.instructions.push_back({BPF_RET | BPF_K, 0, 0, 1});
  ebpf::LoadResult loaded = ebpf::load(ebpf::translate(accept_all, ebpf::Target::SocketFilter));
  return loaded.program && loaded.program->run(std::vector<std::uint8_t>(20, 0)).has_value();
}

// Loads both translations of a classic program and compares them with
// bpf_filter on packets.
class Differential {
 public:
  // Runs on the program from an object file only (see XdpC below).
  void add_object(const BpfProgram& classic, const std::string& name, const std::string& path) {
    classic_ = &classic;
    name_ = name;
    loaded_.clear();
    ebpf::LoadResult result = ebpf::load_object(path, ebpf::Target::Xdp);
    if (!result.program) {
      failures.push_back(fmt::format("{} [C]: libbpf could not load it: {}", name, result.error));
      return;
    }
    ++programs;
    classic_instructions += classic.instructions.size();
    loaded_.push_back(std::move(*result.program));
  }

  void add(const BpfProgram& classic, const std::string& name) {
    classic_ = &classic;
    name_ = name;
    loaded_.clear();
    for (ebpf::Target target : {ebpf::Target::SocketFilter, ebpf::Target::Xdp}) {
      ebpf::Program program = ebpf::translate(classic, target);
      ebpf::LoadOptions options;
      options.keep_log = true;
      ebpf::LoadResult result = ebpf::load(program, options);
      if (!result.program) {
        std::string log = result.verifier_log.size() > 4000
                              ? result.verifier_log.substr(result.verifier_log.size() - 4000)
                              : result.verifier_log;
        failures.push_back(fmt::format("{} [{}]: the kernel refused it: {}\n{}", name, target_name(target),
                                       result.error, log));
        continue;
      }
      ++programs;
      if (auto at = result.verifier_log.find("processed "); at != std::string::npos) {
        verified_most = std::max(verified_most, std::stoul(result.verifier_log.substr(at + 10)));
      }
      ebpf_instructions += program.instructions.size();
      classic_instructions += classic.instructions.size();
      loaded_.push_back(std::move(*result.program));
    }
  }

  void run(const std::vector<std::uint8_t>& packet) {
    std::uint32_t expected = run_bpf(*classic_, packet);
    for (const ebpf::LoadedProgram& program : loaded_) {
      std::optional<std::uint32_t> got = program.run(packet);
      bool xdp = program.target() == ebpf::Target::Xdp;
      if (xdp && packet.size() < kEthernetHeader) {
        // The kernel's test run takes no shorter XDP input (no device
        // delivers one either).
        if (got) failures.push_back(fmt::format("{}: XDP ran {} bytes", name_, packet.size()));
        ++refused;
        continue;
      }
      if (!got) {
        failures.push_back(fmt::format("{} [{}]: test run failed (errno {}) on {}", name_, target_name(program.target()),
                                       errno, hex(packet)));
        continue;
      }
      ++runs;
      std::uint32_t want = xdp ? (expected ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass) : expected;
      matches += expected != 0;
      if (*got != want && failures.size() < 50) {
        failures.push_back(fmt::format("{} [{}]: classic {}, eBPF {}, on {}", name_, target_name(program.target()),
                                       expected, *got, hex(packet)));
      }
    }
  }

  // The packet and `cuts` prefixes of it.
  void run_with_cuts(const std::vector<std::uint8_t>& packet, Random& rng, int cuts) {
    run(packet);
    for (int i = 0; i < cuts && !packet.empty(); ++i) {
      std::size_t keep = i % 2 ? packet.size() - 1 - rng() % std::min<std::size_t>(packet.size(), 8)
                               : rng() % packet.size();
      run(std::vector<std::uint8_t>(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(keep)));
    }
  }

  void report(const char* what) const {
    std::string translated =
        ebpf_instructions ? fmt::format(" ({} classic instructions became {} eBPF; the verifier went through at most {} "
                                        "for one)",
                                        classic_instructions, ebpf_instructions, verified_most)
                          : "";
    fmt::print("{}: {} programs loaded{}, {} test runs ({} where the classic program returned non-zero), {} short XDP "
               "inputs left out\n",
               what, programs, translated, runs, matches, refused);
    for (std::size_t i = 0; i < failures.size() && i < 15; ++i) ADD_FAILURE() << failures[i];
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures";
  }

  std::size_t programs = 0, runs = 0, matches = 0, refused = 0;
  std::size_t classic_instructions = 0, ebpf_instructions = 0;
  std::size_t verified_most = 0;  // instructions the verifier went through for one program, at most
  std::vector<std::string> failures;

 private:
  const BpfProgram* classic_ = nullptr;
  std::string name_;
  std::vector<ebpf::LoadedProgram> loaded_;
};

class EbpfKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(kernel_runs_ebpf(), "loading and test-running eBPF programs needs root (CAP_BPF, CAP_PERFMON)");
    std::uint64_t seed = seed_from_env();
    fmt::print("seed {} (set P0FBPF_SEED to repeat)\n", seed);
    rng_.seed(seed);
  }

  unsigned pick(unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng_); }

  Random rng_;
};

// --- every classic instruction ----------------------------------------

// Offsets around the packet sizes used, and far beyond: past the end,
// where the signed int of LD_ABS turns negative, where X + k wraps.
std::uint32_t random_offset(Random& rng) {
  static const std::uint32_t far[] = {0x7fffffffu, 0x80000000u, 0xffffffffu, 0xfffffff0u, 0xffe00000u, 0xffff, 65530};
  if (rng() % 8 == 0) return far[rng() % std::size(far)];
  return static_cast<std::uint32_t>(rng() % 80);
}

// Constants that A and X often hold, so that comparisons meet their
// boundaries: small numbers, bytes, offsets (X + k wrapping around too),
// anything.
std::uint32_t random_constant(Random& rng) {
  switch (rng() % 4) {
    case 0: return static_cast<std::uint32_t>(rng() % 5);
    case 1: return static_cast<std::uint32_t>(rng() % 256);
    case 2: return random_offset(rng);
    default: return static_cast<std::uint32_t>(rng());
  }
}

// A classic program of random instructions that bpf_validate accepts:
// every opcode libpcap runs, forward jumps of any length, scratch words
// written before any read (libpcap 1.10 leaves unwritten ones undefined).
BpfProgram random_program(Random& rng) {
  static const std::uint16_t loads[] = {
      BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS, BPF_LD | BPF_W | BPF_IND,
      BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND, BPF_LDX | BPF_B | BPF_MSH,
  };
  static const std::uint16_t others[] = {
      BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN, BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM,
      BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
      BPF_ALU | BPF_NEG, BPF_JMP | BPF_JA,
  };
  static const std::uint16_t alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND,
                                          BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH};
  static const std::uint16_t jump_ops[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET};
  BpfProgram program;
  auto& code = program.instructions;
  for (std::uint32_t word = 0; word < 16; ++word) {
    code.push_back({BPF_LD | BPF_IMM, 0, 0, static_cast<std::uint32_t>(rng())});
    code.push_back({BPF_ST, 0, 0, word});
  }
  std::size_t body = 20 + rng() % 60;
  std::size_t total = code.size() + body + 3;
  while (code.size() < total - 3) {
    std::size_t here = code.size();
    std::size_t room = total - 1 - here;  // the farthest forward a jump may go
    bpf_insn insn{};
    switch (rng() % 4) {
      case 0:
        insn.code = loads[rng() % std::size(loads)];
        insn.k = random_offset(rng);
        break;
      case 1: {
        insn.code = others[rng() % std::size(others)];
        std::uint16_t cls = BPF_CLASS(insn.code);
        if (BPF_MODE(insn.code) == BPF_MEM || cls == BPF_ST || cls == BPF_STX) insn.k = rng() % 16;
        else if (insn.code == (BPF_JMP | BPF_JA)) insn.k = static_cast<std::uint32_t>(rng() % room);
        else insn.k = random_constant(rng);
        break;
      }
      case 2: {
        std::uint16_t op = alu_ops[rng() % std::size(alu_ops)];
        insn.code = BPF_ALU | op | (rng() % 2 ? BPF_X : BPF_K);
        bool shift = op == BPF_LSH || op == BPF_RSH;
        bool by_x = BPF_SRC(insn.code) == BPF_X;
        // bpf_validate refuses constant shifts beyond 31 and constant
        // divisions by zero; X may be anything.
        insn.k = shift ? static_cast<std::uint32_t>(rng() % (by_x ? 40 : 32))
                       : random_constant(rng);
        if ((op == BPF_DIV || op == BPF_MOD) && !by_x && insn.k == 0) insn.k = 7;
        break;
      }
      case 3: {
        insn.code = BPF_JMP | jump_ops[rng() % std::size(jump_ops)] | (rng() % 2 ? BPF_X : BPF_K);
        insn.k = random_constant(rng);
        // Often to the next instruction, which the translation lays out apart.
        insn.jt = static_cast<std::uint8_t>(rng() % 3 ? 0 : rng() % std::min<std::size_t>(room, 256));
        insn.jf = static_cast<std::uint8_t>(rng() % 3 ? 0 : rng() % std::min<std::size_t>(room, 256));
        break;
      }
    }
    code.push_back(insn);
  }
  code.push_back({BPF_RET | BPF_A, 0, 0, 0});
  code.push_back({BPF_RET | BPF_K, 0, 0, static_cast<std::uint32_t>(rng())});
  code.push_back({BPF_RET | BPF_K, 0, 0, 0});
  return program;
}

std::vector<std::uint8_t> random_bytes(Random& rng, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  unsigned spread = rng() % 2 ? 256 : 4;  // small bytes meet small constants
  for (auto& b : out) b = static_cast<std::uint8_t>(rng() % spread);
  // Small header-length nibbles too, so that MSH gives usable indexes.
  if (size > 0 && rng() % 2) out[0] = static_cast<std::uint8_t>(0x40 | (rng() % 16));
  return out;
}

TEST_F(EbpfKernel, RandomProgramsOfEveryClassicInstruction) {
  Differential differential;
  for (int n = 0; n < 300; ++n) {
    BpfProgram program = random_program(rng_);
    ASSERT_TRUE(is_valid(program));
    differential.add(program, fmt::format("random program {}", n));
    for (int i = 0; i < 30; ++i) differential.run(random_bytes(rng_, pick(0, 90)));
  }
  differential.report("random classic programs");
  EXPECT_EQ(differential.programs, 600u);
  EXPECT_GT(differential.matches, differential.runs / 20);
}

// XDP programs with counters (what p0fbpf xdp attach loads): the verdict
// as without them (or always XDP_PASS with count_only), slot 0 counting
// every run and slot v the runs the classic program returned v for, the
// last slot also those past it. Random programs return arbitrary values.
TEST_F(EbpfKernel, XdpCountersCountEveryVerdict) {
  std::size_t runs = 0, nonzero = 0, clamped = 0;
  for (int n = 0; n < 120; ++n) {
    BpfProgram program = random_program(rng_);
    auto slots = static_cast<std::uint32_t>(pick(2, 6));
    bool count_only = n % 3 == 0;
    int map = ebpf::create_counter_map(slots, "test_counts");
    ASSERT_GE(map, 0) << std::strerror(errno);
    ebpf::Program translated = ebpf::translate(program, ebpf::Target::Xdp, ebpf::XdpCounters{map, slots, count_only, std::nullopt});
    ebpf::LoadResult loaded = ebpf::load(translated);
    close(map);  // the program holds it
    ASSERT_TRUE(loaded.program) << loaded.error << "\n" << loaded.verifier_log.substr(0, 4000);
    std::vector<std::uint64_t> expected(slots, 0);
    for (int i = 0; i < 25; ++i) {
      std::vector<std::uint8_t> packet = random_bytes(rng_, pick(14, 90));
      std::uint32_t classic = run_bpf(program, packet);
      std::optional<std::uint32_t> verdict = loaded.program->run(packet);
      ASSERT_TRUE(verdict) << std::strerror(errno);
      std::uint32_t wanted = classic && !count_only ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass;
      ASSERT_EQ(*verdict, wanted) << "program " << n << " returned " << classic << " on " << hex(packet);
      ++expected[0];
      if (classic) ++expected[std::min(classic, slots - 1)];
      ++runs;
      nonzero += classic != 0;
      clamped += classic >= slots;
    }
    std::optional<std::vector<std::uint64_t>> counters = loaded.program->counters();
    ASSERT_TRUE(counters) << std::strerror(errno);
    EXPECT_EQ(*counters, expected) << "program " << n;
  }
  fmt::print("{} runs, {} non-zero verdicts, {} past the last slot\n", runs, nonzero, clamped);
  EXPECT_GT(nonzero, runs / 20);
  EXPECT_GT(clamped, 0u);
}

// With the SYN gate's marker (not_syn_verdict), what the classic program
// marks is counted as seen only, never as a SYN, and passes, count_only
// or not; every other verdict also counts in the SYNs slot (slots).
TEST_F(EbpfKernel, XdpCountersCountSynsApartFromTheMarker) {
  constexpr std::uint32_t kMarker = 0xffffffff;
  // The first byte decides: 0, 1 and 2 are returned as they are; anything
  // else is "not a SYN".
  BpfProgram program;
  program.instructions = {{BPF_LD | BPF_B | BPF_ABS, 0, 0, 0}, {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0},
                          {BPF_RET | BPF_K, 0, 0, 0},           {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 1},
                          {BPF_RET | BPF_K, 0, 0, 1},           {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 2},
                          {BPF_RET | BPF_K, 0, 0, 2},           {BPF_RET | BPF_K, 0, 0, kMarker}};
  ASSERT_TRUE(is_valid(program));
  for (bool count_only : {false, true}) {
    constexpr std::uint32_t slots = 3;
    int map = ebpf::create_counter_map(slots + 1, "test_counts");
    ASSERT_GE(map, 0) << std::strerror(errno);
    ebpf::Program translated =
        ebpf::translate(program, ebpf::Target::Xdp, ebpf::XdpCounters{map, slots, count_only, kMarker});
    ebpf::LoadResult loaded = ebpf::load(translated);
    close(map);
    ASSERT_TRUE(loaded.program) << loaded.error << "\n" << loaded.verifier_log.substr(0, 4000);
    std::vector<std::uint64_t> expected(slots + 1, 0);
    for (int i = 0; i < 60; ++i) {
      std::vector<std::uint8_t> packet = random_bytes(rng_, pick(14, 60));
      packet[0] = static_cast<std::uint8_t>(pick(0, 5));
      std::optional<std::uint32_t> verdict = loaded.program->run(packet);
      ASSERT_TRUE(verdict) << std::strerror(errno);
      std::uint32_t first = packet[0];
      bool syn = first <= 2;
      std::uint32_t wanted = syn && first != 0 && !count_only ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass;
      EXPECT_EQ(*verdict, wanted) << "first byte " << first;
      ++expected[0];
      if (syn) ++expected[slots];
      if (syn && first != 0) ++expected[first];
    }
    std::optional<std::vector<std::uint64_t>> counters = loaded.program->counters();
    ASSERT_TRUE(counters) << std::strerror(errno);
    EXPECT_EQ(*counters, expected) << (count_only ? "count only" : "dropping");
    EXPECT_GT(expected[slots], 0u);
    EXPECT_LT(expected[slots], expected[0]);
  }
}

// A random program behind `padding` instructions that one path jumps over
// (classic BPF_JA) and the other goes through: packet loads, most of them
// near the start (so that most packets get through) and some far (so that
// some give up there, which jumps to the end of the eBPF program), and
// arithmetic. Translated, the jump over the padding and the give-ups are
// farther than 16-bit offsets reach, in eBPF and (for the socket filter,
// whose loads the kernel rewrites into 7 instructions each) in the kernel.
BpfProgram long_jump_program(Random& rng, std::uint32_t padding) {
  static const std::uint16_t sizes[] = {BPF_B, BPF_H, BPF_W};
  BpfProgram program;
  auto& code = program.instructions;
  code.push_back({BPF_LD | BPF_B | BPF_ABS, 0, 0, static_cast<std::uint32_t>(rng() % 40)});
  code.push_back({BPF_JMP | BPF_JSET | BPF_K, 0, 1, 1u << (rng() % 8)});
  code.push_back({BPF_JMP | BPF_JA, 0, 0, padding});
  for (std::uint32_t i = 0; i < padding; ++i) {
    if (i % 3 == 2) {
      code.push_back({BPF_ALU | BPF_ADD | BPF_K, 0, 0, static_cast<std::uint32_t>(rng() % 100)});
      continue;
    }
    std::uint32_t offset = rng() % 500 == 0 ? 20 + rng() % 70 : rng() % 16;
    code.push_back({static_cast<std::uint16_t>(BPF_LD | sizes[rng() % 3] | BPF_ABS), 0, 0, offset});
  }
  BpfProgram tail = random_program(rng);
  code.insert(code.end(), tail.instructions.begin(), tail.instructions.end());
  return program;
}

// Both translations, and the XDP one with counters, of programs whose
// jumps are far: the same verdicts as libpcap's.
TEST_F(EbpfKernel, RandomProgramsWithFarJumps) {
  Differential differential;
  std::size_t far = 0, counted = 0;
  for (int n = 0; n < 6; ++n) {
    // A program that libpcap accepts some of the packets with, so that the
    // comparison is not one of rejections only (random tails often return
    // 0 for everything).
    BpfProgram program;
    std::vector<std::vector<std::uint8_t>> packets;
    for (int attempt = 0; attempt < 100; ++attempt) {
      program = long_jump_program(rng_, 6000 + pick(0, 3000));
      packets.clear();
      for (int i = 0; i < 60; ++i) packets.push_back(random_bytes(rng_, pick(0, 120)));
      bool accepts = false;
      for (const auto& packet : packets) accepts = accepts || run_bpf(program, packet) != 0;
      if (accepts) break;
    }
    ASSERT_TRUE(is_valid(program));
    for (ebpf::Target target : {ebpf::Target::SocketFilter, ebpf::Target::Xdp}) {
      for (const ebpf::Instruction& insn : ebpf::translate(program, target).instructions) {
        far += insn.code == (ebpf::isa::kJmp32 | BPF_JA) && insn.imm > std::numeric_limits<std::int16_t>::max();
      }
    }
    differential.add(program, fmt::format("far-jump program {}", n));
    for (const auto& packet : packets) differential.run(packet);

    int map = ebpf::create_counter_map(2, "test_counts");
    ASSERT_GE(map, 0) << std::strerror(errno);
    ebpf::LoadResult loaded =
        ebpf::load(ebpf::translate(program, ebpf::Target::Xdp, ebpf::XdpCounters{map, 2, false, std::nullopt}));
    close(map);
    ASSERT_TRUE(loaded.program) << loaded.error << "\n" << loaded.verifier_log.substr(0, 4000);
    for (const auto& packet : packets) {
      if (packet.size() < kEthernetHeader) continue;
      std::optional<std::uint32_t> got = loaded.program->run(packet);
      ASSERT_TRUE(got.has_value()) << std::strerror(errno);
      EXPECT_EQ(*got, run_bpf(program, packet) ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass) << hex(packet);
      ++counted;
    }
  }
  differential.report("far-jump programs");
  EXPECT_EQ(differential.programs, 12u);
  EXPECT_GT(far, 12u) << "no jump was long";
  EXPECT_GE(differential.matches, 6u);
  EXPECT_GT(counted, 100u);
}

// gotol (BPF_JMP32 | BPF_JA) needs Linux 6.4: a program whose jumps all
// reach in 16 bits, as the kernel counts them, must not use it, so that
// Debian 12's 6.1 and other older kernels load it. Jumps of more than 32
// instructions still fall through to a jump (far side first), a plain JA.
TEST(LongJumps, JumpsWithinSixteenBitsNeedNoGotol) {
  Random rng(2026);
  for (std::uint32_t padding : {40u, 400u, 1200u}) {
    BpfProgram program = long_jump_program(rng, padding);
    for (ebpf::Target target : {ebpf::Target::SocketFilter, ebpf::Target::Xdp}) {
      std::size_t gotols = 0, plain = 0;
      for (const ebpf::Instruction& insn : ebpf::translate(program, target).instructions) {
        gotols += insn.code == (ebpf::isa::kJmp32 | BPF_JA);
        plain += insn.code == (BPF_JMP | BPF_JA);
      }
      EXPECT_EQ(gotols, 0u) << padding << " instructions of padding";
      EXPECT_GT(plain, 0u) << padding << " instructions of padding";
    }
  }
}

// plan_jumps directly: a jump farther than 32 instructions falls through to
// a jump (two instructions, its condition inverted); JSET, which has no
// inverse, goes to a jump only beyond 16 bits, by skipping over it (three);
// near jumps and JA stay one instruction, JA a gotol beyond 16 bits.
// Offsets count from the end of a jump's own instructions.
TEST(LongJumps, PlanGivesEachJumpOneToThreeInstructions) {
  auto insn = [](std::uint8_t code) {
    ebpf::Instruction i;
    i.code = code;
    return i;
  };
  constexpr std::uint32_t kExit = 20'000;
  std::vector<ebpf::Instruction> code = {insn(ebpf::isa::kJmp32 | BPF_JEQ | BPF_K),
                                         insn(ebpf::isa::kJmp32 | BPF_JSET | BPF_K), insn(BPF_JMP | BPF_JA),
                                         insn(ebpf::isa::kJmp32 | BPF_JGT | BPF_K)};
  while (code.size() < kExit) code.push_back(insn(BPF_ALU | ebpf::isa::kMov | BPF_K));
  code.push_back(insn(BPF_JMP | ebpf::isa::kExit));
  ebpf::JumpPlan plan = ebpf::plan_jumps(code, {40, kExit, kExit, 5}, ebpf::Target::Xdp);
  ASSERT_EQ(plan.length.size(), code.size());
  EXPECT_EQ(std::vector<std::uint8_t>(plan.length.begin(), plan.length.begin() + 5),
            (std::vector<std::uint8_t>{2, 3, 1, 1, 1}));
  ASSERT_EQ(plan.instructions.size(), code.size() + 3);
  // Instruction k >= 2 now starts at k + 3.
  EXPECT_EQ(plan.instructions[0].code, ebpf::isa::kJmp32 | ebpf::isa::kJne | BPF_K);  // over the jump
  EXPECT_EQ(plan.instructions[0].offset, 1);
  EXPECT_EQ(plan.instructions[1].code, BPF_JMP | BPF_JA);
  EXPECT_EQ(plan.instructions[1].offset, 40 + 3 - 2);
  EXPECT_EQ(plan.instructions[2].code, ebpf::isa::kJmp32 | BPF_JSET | BPF_K);  // to the gotol
  EXPECT_EQ(plan.instructions[2].offset, 1);
  EXPECT_EQ(plan.instructions[3].offset, 1);  // over it
  EXPECT_EQ(plan.instructions[4].code, ebpf::isa::kJmp32 | BPF_JA);
  EXPECT_EQ(plan.instructions[4].imm, static_cast<std::int32_t>(kExit + 3 - 5));
  EXPECT_EQ(plan.instructions[5].code, ebpf::isa::kJmp32 | BPF_JA);
  EXPECT_EQ(plan.instructions[5].imm, static_cast<std::int32_t>(kExit + 3 - 6));
  EXPECT_EQ(plan.instructions[6].offset, 5 + 3 - 7);
}

// A fixed skip (a jump without a target) that would go back before the
// program's start is refused, not taken for a jump without a destination.
TEST(LongJumps, PlanRefusesSkipsOutOfTheProgram) {
  ebpf::Instruction back;
  back.code = BPF_JMP | BPF_JA;
  back.offset = -2;  // from instruction 0: to -1
  ebpf::Instruction exit;
  exit.code = BPF_JMP | ebpf::isa::kExit;
  EXPECT_THROW(ebpf::plan_jumps({back, exit}, {}, ebpf::Target::Xdp), std::logic_error);
  back.offset = 1;  // past the end
  EXPECT_THROW(ebpf::plan_jumps({back, exit}, {}, ebpf::Target::Xdp), std::logic_error);
  back.offset = 0;
  EXPECT_EQ(ebpf::plan_jumps({back, exit}, {}, ebpf::Target::Xdp).instructions.size(), 2u);
}

// Each instruction alone, on the values where translations go wrong: A and X
// come from the packet's first two words, every pair of edge values.
TEST_F(EbpfKernel, EdgeValuesOfEveryInstruction) {
  static const std::uint32_t edges[] = {0,  1,  2,    3,          4,          7,          14,         16,         20,
                                        31, 32, 33, 0xff, 0x7fffffff, 0x80000000, 0xffffffe0, 0xfffffff0, 0xffffffff};
  std::vector<std::vector<std::uint8_t>> packets;
  for (int length = 0; length < 8; ++length) packets.push_back(random_bytes(rng_, static_cast<std::size_t>(length)));
  for (std::uint32_t a : edges) {
    for (std::uint32_t x : edges) {
      std::vector<std::uint8_t> packet;
      for (std::uint32_t word : {a, x}) {
        for (int shift = 24; shift >= 0; shift -= 8) packet.push_back(static_cast<std::uint8_t>(word >> shift));
      }
      std::vector<std::uint8_t> tail = random_bytes(rng_, packets.size() % 37);
      packet.insert(packet.end(), tail.begin(), tail.end());
      packets.push_back(packet);
    }
  }
  // A = the first word, X = the second.
  const std::vector<bpf_insn> operands = {{BPF_LD | BPF_W | BPF_ABS, 0, 0, 4}, {BPF_MISC | BPF_TAX, 0, 0, 0},
                                          {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0}};
  std::vector<BpfProgram> programs;
  auto add = [&](std::vector<bpf_insn> body) {
    BpfProgram program;
    program.instructions = operands;
    program.instructions.insert(program.instructions.end(), body.begin(), body.end());
    programs.push_back(std::move(program));
  };
  static const std::uint16_t alu_ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND,
                                          BPF_OR,  BPF_XOR, BPF_LSH, BPF_RSH};
  static const std::uint16_t jump_ops[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET};
  const bpf_insn ret_a = {BPF_RET | BPF_A, 0, 0, 0};
  for (std::uint16_t op : alu_ops) {
    add({{static_cast<std::uint16_t>(BPF_ALU | op | BPF_X), 0, 0, 0}, ret_a});
    for (std::uint32_t k : edges) {
      bool shift = op == BPF_LSH || op == BPF_RSH;
      if ((shift && k >= 32) || ((op == BPF_DIV || op == BPF_MOD) && k == 0)) continue;  // bpf_validate refuses
      add({{static_cast<std::uint16_t>(BPF_ALU | op | BPF_K), 0, 0, k}, ret_a});
    }
  }
  add({{BPF_ALU | BPF_NEG, 0, 0, 0}, ret_a});
  for (std::uint16_t op : jump_ops) {
    for (std::pair<int, int> jumps : {std::pair{0, 1}, {1, 0}, {1, 2}}) {
      // Named copies: clang 14 lets no lambda capture a structured binding.
      const int jt = jumps.first, jf = jumps.second;
      std::vector<bpf_insn> tail = {{BPF_RET | BPF_K, 0, 0, 1}, {BPF_RET | BPF_K, 0, 0, 2}, {BPF_RET | BPF_K, 0, 0, 3}};
      auto with = [&](std::uint16_t src, std::uint32_t k) {
        std::vector<bpf_insn> body = {{static_cast<std::uint16_t>(BPF_JMP | op | src), static_cast<std::uint8_t>(jt),
                                       static_cast<std::uint8_t>(jf), k}};
        body.insert(body.end(), tail.begin(), tail.end());
        add(body);
      };
      with(BPF_X, 0);
      for (std::uint32_t k : edges) with(BPF_K, k);
    }
  }
  for (std::uint16_t size : {BPF_W, BPF_H, BPF_B}) {
    for (std::uint32_t k : edges) {
      add({{static_cast<std::uint16_t>(BPF_LD | size | BPF_IND), 0, 0, k}, ret_a});
      add({{static_cast<std::uint16_t>(BPF_LD | size | BPF_ABS), 0, 0, k}, ret_a});
    }
  }
  for (std::uint32_t k : edges) {
    // A survives the header-length load.
    add({{BPF_LDX | BPF_B | BPF_MSH, 0, 0, k}, {BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0}, ret_a});
  }
  add({{BPF_LD | BPF_W | BPF_LEN, 0, 0, 0}, ret_a});
  add({{BPF_LDX | BPF_W | BPF_LEN, 0, 0, 0}, {BPF_MISC | BPF_TXA, 0, 0, 0}, ret_a});
  add({{BPF_ST, 0, 0, 3}, {BPF_STX, 0, 0, 15}, {BPF_LDX | BPF_MEM, 0, 0, 3}, {BPF_LD | BPF_MEM, 0, 0, 15},
       {BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0}, ret_a});

  Differential differential;
  for (std::size_t n = 0; n < programs.size(); ++n) {
    ASSERT_TRUE(is_valid(programs[n])) << n;
    differential.add(programs[n], fmt::format("edge program {}", n));
    for (const auto& packet : packets) differential.run(packet);
  }
  differential.report("edge values");
  EXPECT_EQ(differential.programs, 2 * programs.size());
}

// --- p0f.fp ---------------------------------------------------------------

struct Variant {
  MatchMode mode;
  bool negate;
  LinkType link;
};

std::string describe(const Variant& v) {
  return fmt::format("{}{}, link {}", v.mode == MatchMode::Loose ? "loose" : "exact", v.negate ? ", negated" : "",
                     v.link == LinkType::Ethernet ? "ether" : "raw");
}

BpfProgram compile_variant(const std::vector<SignatureSource>& sources, bool response, const Variant& variant) {
  CompileOptions options;
  options.mode = variant.mode;
  options.direction = response ? Direction::Response : Direction::Request;
  options.negate = variant.negate;
  options.link.type = variant.link;
  Compilation c = compile(sources, options);
  if (!c.ok()) throw std::runtime_error("cannot compile " + sources.front().text);
  return *c.program;
}

const std::vector<Variant>& variants() {
  static const std::vector<Variant> all = [] {
    std::vector<Variant> out;
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (bool negate : {false, true}) {
        for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) out.push_back({mode, negate, link});
      }
    }
    return out;
  }();
  return all;
}

// Matching packets, near misses and random ones, as the program's link
// layer frames them (raw IP, or Ethernet with and without an 802.1Q tag),
// whole and cut short.
void run_packets(Differential& differential, const std::vector<PacketSpec>& specs, LinkType link, Random& rng) {
  for (const PacketSpec& spec : specs) {
    std::vector<std::uint8_t> ip = build_packet(spec);
    if (link == LinkType::Raw) {
      differential.run_with_cuts(ip, rng, 2);
    } else {
      differential.run_with_cuts(ethernet_frame(ip, spec.ipv6, false), rng, 2);
      differential.run_with_cuts(ethernet_frame(ip, spec.ipv6, true), rng, 2);
    }
  }
}

std::vector<PacketSpec> packets_around(const Signature& sig, bool response, Random& rng) {
  std::vector<PacketSpec> packets;
  for (bool v6 : {false, true}) {
    if ((sig.version == IpVersion::V4 && v6) || (sig.version == IpVersion::V6 && !v6)) continue;
    for (int i = 0; i < 3; ++i) {
      PacketSpec matching = matching_packet(sig, v6, response, rng);
      packets.push_back(matching);
      packets.push_back(mutate(matching, rng));
      packets.push_back(mutate(mutate(matching, rng), rng));
    }
    packets.push_back(random_packet(v6, response, rng));
  }
  return packets;
}

TEST_F(EbpfKernel, EveryTcpSignatureOfP0fDatabase) {
  auto sigs = tcp_signatures(kDatabase);
  P0FBPF_REQUIRE(!sigs.empty(), std::string("no TCP signatures in ") + kDatabase + " (apt-get install p0f)");
  Differential differential;
  for (const auto& entry : sigs) {
    Result<Signature> parsed = parse_signature(entry.text);
    ASSERT_TRUE(parsed.ok()) << entry.text;
    std::vector<PacketSpec> specs = packets_around(*parsed, entry.response, rng_);
    for (const Variant& variant : variants()) {
      BpfProgram classic = compile_variant({{entry.text, ""}}, entry.response, variant);
      differential.add(classic, entry.text + " (" + describe(variant) + ")");
      run_packets(differential, specs, variant.link, rng_);
    }
  }
  differential.report("p0f.fp signatures");
  EXPECT_EQ(differential.programs, sigs.size() * variants().size() * 2);
  EXPECT_GT(differential.matches, differential.runs / 10);
}

// All request (or response) signatures in one program: thousands of
// instructions, far jumps, and as many paths as the verifier will see.
TEST_F(EbpfKernel, WholeDatabaseInOneProgram) {
  auto sigs = tcp_signatures(kDatabase);
  P0FBPF_REQUIRE(!sigs.empty(), std::string("no TCP signatures in ") + kDatabase + " (apt-get install p0f)");
  Differential differential;
  for (bool response : {false, true}) {
    std::vector<SignatureSource> sources;
    std::vector<PacketSpec> specs;
    for (const auto& entry : sigs) {
      if (entry.response != response) continue;
      sources.push_back({entry.text, ""});
      Result<Signature> parsed = parse_signature(entry.text);
      ASSERT_TRUE(parsed.ok()) << entry.text;
      for (const PacketSpec& p : packets_around(*parsed, response, rng_)) {
        if (rng_() % 3 == 0) specs.push_back(p);
      }
    }
    for (const Variant& variant : variants()) {
      if (variant.mode == MatchMode::Loose) continue;
      BpfProgram classic = compile_variant(sources, response, variant);
      differential.add(classic, fmt::format("{} {} signatures ({})", sources.size(),
                                            response ? "response" : "request", describe(variant)));
      run_packets(differential, specs, variant.link, rng_);
    }
  }
  differential.report("the database in one program");
  EXPECT_EQ(differential.programs, 16u);
}

// --- timing and the kernel's view, for bench/ebpf_bench ----------------------

// Timed runs take the frame as the kernel's test run does (a socket filter's
// Ethernet header included, which the kernel takes off) and give the
// verdict of the classic program on what each target sees.
TEST_F(EbpfKernel, TimedRunsGiveTheClassicVerdict) {
  const std::string card = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  BpfProgram ether = compile_variant({{card, ""}}, false, {MatchMode::Exact, false, LinkType::Ethernet});
  BpfProgram raw = compile_variant({{card, ""}}, false, {MatchMode::Exact, false, LinkType::Raw});
  ebpf::LoadResult xdp = ebpf::load(ebpf::translate(ether, ebpf::Target::Xdp));
  ebpf::LoadResult socket_filter = ebpf::load(ebpf::translate(raw, ebpf::Target::SocketFilter));
  ASSERT_TRUE(xdp.program) << xdp.error;
  ASSERT_TRUE(socket_filter.program) << socket_filter.error;
  std::size_t matches = 0;
  std::uint64_t total_ns = 0;
  for (int i = 0; i < 5; ++i) {
    for (const PacketSpec& spec : packets_around(*parse_signature(card), false, rng_)) {
      std::vector<std::uint8_t> ip = build_packet(spec);
      std::vector<std::uint8_t> frame = ethernet_frame(ip, spec.ipv6);
      auto on_xdp = xdp.program->time(frame, 100);
      auto on_socket_filter = socket_filter.program->time(frame, 100);
      ASSERT_TRUE(on_xdp && on_socket_filter) << std::strerror(errno);
      std::uint32_t expected = run_bpf(raw, ip);
      ASSERT_EQ(run_bpf(ether, frame), expected) << hex(frame);
      EXPECT_EQ(on_socket_filter->verdict, expected) << hex(frame);
      EXPECT_EQ(on_xdp->verdict, expected ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass) << hex(frame);
      matches += expected != 0;
      total_ns += on_xdp->mean_ns + on_socket_filter->mean_ns;
    }
  }
  EXPECT_GT(matches, 5u);
  EXPECT_GT(total_ns, 0u) << "the kernel timed nothing";
}

// The kernel's count is of the program it runs: a socket filter's LD_ABS
// becomes a helper call and its checks, more instructions than loaded.
TEST_F(EbpfKernel, KernelInstructionsCountTheVerifiersRewrites) {
  BpfProgram load_word;
  load_word.instructions = {{BPF_LD | BPF_W | BPF_ABS, 0, 0, 2}, {BPF_RET | BPF_A, 0, 0, 0}};
  ebpf::Program translated = ebpf::translate(load_word, ebpf::Target::SocketFilter);
  ebpf::LoadResult loaded = ebpf::load(translated);
  ASSERT_TRUE(loaded.program) << loaded.error;
  std::optional<std::size_t> count = loaded.program->kernel_instructions();
  ASSERT_TRUE(count) << std::strerror(errno);
  EXPECT_GT(*count, translated.instructions.size());
}

// --- the C file -------------------------------------------------------------

// Compiles C files for XDP with clang, two at a time as the project's
// builds, which must succeed without a word from clang; `objects` gets the
// object files, in order.
void compile_with_clang(const std::vector<std::string>& files, std::vector<std::string>& objects) {
  int status = 0;
  std::string triplet = run_shell("gcc -dumpmachine", &status);
  triplet.erase(triplet.find_last_not_of("\n") + 1);
  std::string dir = ::testing::TempDir() + "p0fbpf_xdp_c_" + std::to_string(getpid());
  run_shell("rm -rf " + dir + " && mkdir -p " + dir);
  std::string names;
  for (std::size_t n = 0; n < files.size(); ++n) {
    std::ofstream(fmt::format("{}/{}.c", dir, n)) << files[n];
    names += fmt::format(" {}.c", n);
    objects.push_back(fmt::format("{}/{}.c.o", dir, n));
  }
  std::string output = run_shell(fmt::format("cd {} && printf '%s\\n'{} | xargs -P2 -I{{}} clang -O2 -g -target bpf "
                                             "-I/usr/include/{} -c {{}} -o {{}}.o",
                                             dir, names, triplet),
                                 &status);
  ASSERT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << "clang warned";
}

void remove_directory_of(const std::vector<std::string>& files) {
  if (!files.empty()) run_shell("rm -rf " + files.front().substr(0, files.front().rfind('/')));
}

bool have_clang() { return !run_shell("command -v clang").empty() && !run_shell("command -v gcc").empty(); }

// The C printer's files compile with clang against libbpf-dev's headers
// without a warning, load with libbpf, and give the classic verdicts.
TEST_F(EbpfKernel, XdpCFilesOfP0fSignatures) {
  auto sigs = tcp_signatures(kDatabase);
  P0FBPF_REQUIRE(!sigs.empty(), std::string("no TCP signatures in ") + kDatabase + " (apt-get install p0f)");
  P0FBPF_REQUIRE(have_clang(), "clang and gcc are needed (apt-get install clang)");
  struct Case {
    BpfProgram classic;
    std::string name;
    std::vector<PacketSpec> specs;
    LinkType link;
  };
  std::vector<Case> cases;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < sigs.size(); i += 7) {
    Result<Signature> parsed = parse_signature(sigs[i].text);
    ASSERT_TRUE(parsed.ok()) << sigs[i].text;
    std::vector<PacketSpec> specs = packets_around(*parsed, sigs[i].response, rng_);
    for (const Variant& variant : variants()) {
      if (variant.mode == MatchMode::Loose && variant.negate) continue;
      cases.push_back({compile_variant({{sigs[i].text, ""}}, sigs[i].response, variant),
                       sigs[i].text + " (" + describe(variant) + ")", specs, variant.link});
      files.push_back(ebpf::print_xdp_c(cases.back().classic));
    }
  }
  std::vector<std::string> objects;
  ASSERT_NO_FATAL_FAILURE(compile_with_clang(files, objects));

  Differential differential;
  for (std::size_t n = 0; n < cases.size(); ++n) {
    differential.add_object(cases[n].classic, cases[n].name, objects[n]);
    run_packets(differential, cases[n].specs, cases[n].link, rng_);
  }
  remove_directory_of(objects);
  differential.report("C files of p0f.fp signatures");
  EXPECT_EQ(differential.programs, cases.size());
  EXPECT_GT(cases.size(), 100u);
}

// Every classic instruction in C, as in RandomProgramsOfEveryClassicInstruction.
TEST_F(EbpfKernel, XdpCFilesOfRandomPrograms) {
  P0FBPF_REQUIRE(have_clang(), "clang and gcc are needed (apt-get install clang)");
  std::vector<BpfProgram> programs;
  std::vector<std::string> files;
  for (int n = 0; n < 60; ++n) {
    programs.push_back(random_program(rng_));
    files.push_back(ebpf::print_xdp_c(programs.back()));
  }
  std::vector<std::string> objects;
  ASSERT_NO_FATAL_FAILURE(compile_with_clang(files, objects));
  Differential differential;
  for (std::size_t n = 0; n < programs.size(); ++n) {
    differential.add_object(programs[n], fmt::format("random program {}", n), objects[n]);
    for (int i = 0; i < 40; ++i) differential.run(random_bytes(rng_, pick(14, 90)));
  }
  remove_directory_of(objects);
  differential.report("C files of random programs");
  EXPECT_EQ(differential.programs, programs.size());
}

// A verdict computed from the frame's length alone. clang once folded such
// arithmetic into the packet pointer (data_end + ~data, an XOR the verifier
// refuses); random program 59 of seed 1781337271 was one.
TEST_F(EbpfKernel, XdpCFilesOfLengthArithmetic) {
  P0FBPF_REQUIRE(have_clang(), "clang and gcc are needed (apt-get install clang)");
  std::vector<BpfProgram> programs;
  std::vector<std::string> files;
  for (std::uint32_t most : {1u, 62u, 63u, 100u, 1514u}) {
    for (std::uint16_t test : {BPF_JGE, BPF_JGT}) {
      // A = X = the length; return it when it is at most (or below) MOST.
      BpfProgram program;
      program.instructions = {
          {BPF_LDX | BPF_W | BPF_LEN, 0, 0, 0},
          {BPF_LD | BPF_IMM, 0, 0, most},
          {static_cast<std::uint16_t>(BPF_JMP | test | BPF_X), 0, 2, 0},
          {BPF_MISC | BPF_TXA, 0, 0, 0},
          {BPF_RET | BPF_A, 0, 0, 0},
          {BPF_RET | BPF_K, 0, 0, 0},
      };
      programs.push_back(program);
      files.push_back(ebpf::print_xdp_c(program));
    }
  }
  std::vector<std::string> objects;
  ASSERT_NO_FATAL_FAILURE(compile_with_clang(files, objects));
  Differential differential;
  for (std::size_t n = 0; n < programs.size(); ++n) {
    differential.add_object(programs[n], fmt::format("length program {}", n), objects[n]);
    for (std::size_t size : {14, 40, 61, 62, 63, 64, 124, 125, 126, 200}) {
      differential.run(std::vector<std::uint8_t>(size, 0x45));
    }
  }
  remove_directory_of(objects);
  differential.report("C files of length arithmetic");
  EXPECT_EQ(differential.programs, programs.size());
}

// p0fbpf -f xdp: the program drops what the signatures match, in Ethernet
// frames with and without a tag, and counts each frame once, under the first
// signature (in the order given) whose own program accepts it; --count-only
// drops nothing and counts the same.
TEST_F(EbpfKernel, XdpFileCountsTheMatchesOfEachSignature) {
  auto all = tcp_signatures(kDatabase);
  P0FBPF_REQUIRE(!all.empty(), std::string("no TCP signatures in ") + kDatabase + " (apt-get install p0f)");
  P0FBPF_REQUIRE(have_clang(), "clang and gcc are needed (apt-get install clang)");
  std::vector<std::string> sigs;
  for (const auto& s : all) {
    if (!s.response && sigs.size() < 24) sigs.push_back(s.text);
  }
  // A wide signature late in the list: what it shares with earlier ones counts under those.
  sigs.push_back("*:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0");
  std::string dir = ::testing::TempDir() + "p0fbpf_xdp_cli_" + std::to_string(getpid());
  run_shell("rm -rf " + dir + " && mkdir -p " + dir);
  {
    std::ofstream list(dir + "/signatures");
    for (const auto& s : sigs) list << s << "\n";
  }
  std::vector<std::string> files;
  for (const char* extra : {"", " --count-only"}) {
    int status = 0;
    std::string err = dir + "/err";
    files.push_back(run_shell(fmt::format("'{}' -f xdp --name p0fbpf_test{} - < {}/signatures 2>{}", P0FBPF_BINARY,
                                          extra, dir, err),
                              &status));
    ASSERT_EQ(status, 0) << run_shell("cat " + err);
  }
  run_shell("rm -rf " + dir);
  std::vector<std::string> objects;
  ASSERT_NO_FATAL_FAILURE(compile_with_clang(files, objects));

  std::vector<BpfProgram> each;
  for (const auto& s : sigs) each.push_back(compile_variant({{s, ""}}, false, {MatchMode::Exact, false, LinkType::Ethernet}));
  std::vector<std::vector<std::uint8_t>> frames;
  for (const auto& s : sigs) {
    for (const PacketSpec& spec : packets_around(*parse_signature(s), false, rng_)) {
      std::vector<std::uint8_t> ip = build_packet(spec);
      frames.push_back(ethernet_frame(ip, spec.ipv6, false));
      frames.push_back(ethernet_frame(ip, spec.ipv6, true));
    }
  }
  std::vector<std::uint64_t> expected(sigs.size() + 1, 0);
  std::vector<bool> matches;
  for (const auto& frame : frames) {
    ++expected[0];
    std::size_t first = 0;
    for (std::size_t k = 0; k < each.size() && !first; ++k) {
      if (run_bpf(each[k], frame)) first = k + 1;
    }
    if (first) ++expected[first];
    matches.push_back(first != 0);
  }
  std::size_t matched = 0;
  for (bool m : matches) matched += m;
  EXPECT_GT(matched, frames.size() / 4);

  for (std::size_t n = 0; n < objects.size(); ++n) {
    bool count_only = n == 1;
    ebpf::LoadResult loaded = ebpf::load_object(objects[n], ebpf::Target::Xdp);
    ASSERT_TRUE(loaded.program) << loaded.error;
    for (std::size_t f = 0; f < frames.size(); ++f) {
      std::optional<std::uint32_t> verdict = loaded.program->run(frames[f]);
      ASSERT_TRUE(verdict) << std::strerror(errno);
      std::uint32_t wanted = matches[f] && !count_only ? ebpf::isa::kXdpDrop : ebpf::isa::kXdpPass;
      ASSERT_EQ(*verdict, wanted) << "frame " << f << (count_only ? " (--count-only)" : "");
    }
    std::optional<std::vector<std::uint64_t>> counters = loaded.program->counters();
    ASSERT_TRUE(counters) << std::strerror(errno);
    EXPECT_EQ(*counters, expected) << (count_only ? "--count-only" : "");
  }
  remove_directory_of(objects);
}

// --- what the translation refuses -------------------------------------------

TEST(EbpfTranslation, RefusesWhatNoClassicMachineRuns) {
  auto refuses = [](std::vector<bpf_insn> code) {
    BpfProgram program;
    program.instructions = std::move(code);
    EXPECT_THROW(ebpf::translate(program, ebpf::Target::Xdp), std::invalid_argument);
  };
  refuses({});
  refuses({{BPF_LD | BPF_IMM, 0, 0, 1}});                               // falls off the end
  refuses({{BPF_JMP | BPF_JA, 0, 0, 1}, {BPF_RET | BPF_K, 0, 0, 0}});  // jumps past the end
  refuses({{BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0}, {BPF_RET | BPF_K, 0, 0, 0}});
  refuses({{BPF_ST, 0, 0, 16}, {BPF_RET | BPF_K, 0, 0, 0}});         // no scratch word 16
  refuses({{BPF_RET | BPF_X, 0, 0, 0}});                             // no such return
  refuses({{BPF_LDX | BPF_W | BPF_ABS, 0, 0, 0}, {BPF_RET | BPF_K, 0, 0, 0}});
}

}  // namespace
}  // namespace p0fbpf::testing
