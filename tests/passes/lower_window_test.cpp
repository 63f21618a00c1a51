#include "passes/lower_window.hpp"

#include <gtest/gtest.h>

#include <random>

#include "backend/classic/codegen.hpp"
#include "p0f/window.hpp"

namespace p0fbpf {
namespace {

using ir::Width;

// The lowered check, compiled and run, agrees with the plain function on
// many window/MSS pairs. The packet is 8 bytes: window, mss, ts1.
class LoweredWindow : public ::testing::Test {
 protected:
  bool run(const WindowSize& w, std::uint16_t win, std::uint16_t mss, std::uint32_t ts1, bool ipv6,
           std::uint32_t headers) {
    WindowFacts facts;
    facts.window = ir::load(Width::Half, 0);
    facts.mss = ir::load(Width::Half, 2);
    facts.ts1_set = ir::ne(ir::load(Width::Word, 4), 0u, "ts1");
    facts.header_total = ir::constant(headers);
    facts.ipv6 = ipv6;
    facts.shortcut = shortcut;
    ir::Program program;
    program.branches.push_back({"window", exact_window(w, facts)});
    BpfProgram bpf = generate(program, {});
    std::uint8_t packet[8] = {static_cast<std::uint8_t>(win >> 8), static_cast<std::uint8_t>(win),
                              static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss),
                              static_cast<std::uint8_t>(ts1 >> 24), static_cast<std::uint8_t>(ts1 >> 16),
                              static_cast<std::uint8_t>(ts1 >> 8), static_cast<std::uint8_t>(ts1)};
    return bpf_filter(bpf.instructions.data(), packet, 8, 8) != 0;
  }
  bool shortcut = true;  // see WindowFacts::shortcut
};

TEST_F(LoweredWindow, AgreesWithDetectionOnManyPackets) {
  std::mt19937 rng(7);
  int matches = 0;
  for (int i = 0; i < 3000; ++i) {
    bool ipv6 = i % 2;
    std::uint16_t mss = static_cast<std::uint16_t>(90 + rng() % 1400);
    std::uint32_t ts1 = rng() % 2 ? 0 : 5;
    std::uint32_t headers = ipv6 ? 60 + 4 * (rng() % 5) : 40 + 4 * (rng() % 5);
    std::uint32_t divisors[] = {mss, mss - 12u, 1460, 1448, 1440, 1428, mss + 40u, mss + headers, mss + 60u, 1500};
    std::size_t which = rng() % 10;
    unsigned m = 1 + rng() % 30;
    std::uint32_t win = (divisors[which] * m + (rng() % 4 == 0 ? rng() % 3 : 0)) & 0xffff;
    // Mostly the kind and multiplier the window was made with, sometimes not.
    bool mtu = rng() % 5 == 0 ? !(which >= 6) : which >= 6;
    if (rng() % 5 == 0) m = 1 + rng() % 30;
    WindowSize w{mtu ? WindowSize::Kind::MtuMultiple : WindowSize::Kind::MssMultiple, m, {}};
    auto expected = detect_window_multiplier(win, mss, ts1, headers, ipv6);
    bool want = expected && expected->value == m && expected->mtu == mtu;
    matches += want;
    for (bool with_shortcut : {true, false}) {
      shortcut = with_shortcut;
      ASSERT_EQ(run(w, static_cast<std::uint16_t>(win), mss, ts1, ipv6, headers), want)
          << (mtu ? "mtu*" : "mss*") << m << " win " << win << " mss " << mss << " ts1 " << ts1
          << (ipv6 ? " ipv6" : " ipv4") << " headers " << headers << (with_shortcut ? "" : ", no shortcut");
    }
  }
  EXPECT_GT(matches, 100);
}

TEST_F(LoweredWindow, ExactAndModulo) {
  EXPECT_TRUE(run({WindowSize::Kind::Exact, 8192, {}}, 8192, 1460, 0, false, 40));
  EXPECT_FALSE(run({WindowSize::Kind::Exact, 8192, {}}, 8193, 1460, 0, false, 40));
  EXPECT_TRUE(run({WindowSize::Kind::Modulo, 512, {}}, 1024, 1460, 0, false, 40));
  EXPECT_TRUE(run({WindowSize::Kind::Modulo, 512, {}}, 0, 1460, 0, false, 40));
  EXPECT_FALSE(run({WindowSize::Kind::Modulo, 512, {}}, 1000, 1460, 0, false, 40));
  EXPECT_TRUE(run({WindowSize::Kind::Any, 0, {}}, 1, 1, 0, false, 40));
}

TEST(WindowLowering, ConstantMssGivesAListOfWindows) {
  WindowFacts facts;
  facts.window = ir::load(Width::Half, 0);
  facts.mss = ir::constant(1460);
  facts.ts1_set = ir::always();
  facts.header_total = ir::constant(40);
  ir::ConditionPtr c = exact_window({WindowSize::Kind::MssMultiple, 10, {}}, facts);
  // win == 14600 (mss), 14480 (mss - 12 = 1448 too).
  EXPECT_EQ(ir::to_string(c), "any\n  ldh[0] == #14600  ; wsize\n  ldh[0] == #14480  ; wsize\n");
  facts.mss = ir::constant(99);
  EXPECT_TRUE(ir::is_never(exact_window({WindowSize::Kind::MssMultiple, 10, {}}, facts)));
}

}  // namespace
}  // namespace p0fbpf
