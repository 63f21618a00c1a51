// The kernel accepts every program p0fbpf makes: SO_ATTACH_FILTER on a
// socket (any user), and iptables -m bpf in a network namespace (root).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/emit.hpp"
#include "p0f_database.hpp"
#include "test_env.hpp"

namespace p0fbpf {
namespace {

std::vector<std::pair<std::string, bool>> signatures_in(const std::string& path) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& s : testing::tcp_signatures(path)) out.emplace_back(s.text, s.response);
  return out;
}

bool kernel_accepts(const BpfProgram& program) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  std::vector<sock_filter> code;
  for (const bpf_insn& i : program.instructions) code.push_back({i.code, i.jt, i.jf, i.k});
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  if (rc != 0) std::perror("SO_ATTACH_FILTER");
  close(fd);
  return rc == 0;
}

void check_all(const std::vector<std::pair<std::string, bool>>& sigs, std::size_t& checked) {
  for (const auto& [sig, response] : sigs) {
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (int variant = 0; variant < 4; ++variant) {
        bool negate = variant % 2 == 1;
        CompileOptions options;
        options.verify_each_pass = true;
        options.mode = mode;
        options.direction = response ? Direction::Response : Direction::Request;
        options.negate = negate;
        options.link.type = negate ? LinkType::Ethernet : LinkType::Raw;
        options.fit_within = variant >= 2 ? 1 : 0;  // the smallest form: one branch for both versions
        Compilation c = compile({{sig, ""}}, options);
        ASSERT_TRUE(c.ok()) << sig;
        EXPECT_TRUE(is_valid(*c.program)) << "bpf_validate: " << sig;
        EXPECT_TRUE(kernel_accepts(*c.program)) << "SO_ATTACH_FILTER: " << sig;
        // Only instructions libpcap can list.
        EXPECT_EQ(emit(*c.program, Format::Assembly).find("unimp"), std::string::npos) << sig;
        ++checked;
      }
    }
  }
}

TEST(Kernel, AttachesEveryProgramOfTheExampleSignatures) {
  auto sigs = signatures_in(std::string(P0FBPF_TEST_DATA) + "/../signatures/examples.fp");
  ASSERT_GE(sigs.size(), 5u);
  std::size_t checked = 0;
  check_all(sigs, checked);
  EXPECT_EQ(checked, sigs.size() * 8);
}

TEST(Kernel, AttachesEveryProgramOfP0fDatabase) {
  auto sigs = signatures_in("/etc/p0f/p0f.fp");
  P0FBPF_REQUIRE(!sigs.empty(), "/etc/p0f/p0f.fp not found (apt-get install p0f)");
  std::size_t checked = 0;
  check_all(sigs, checked);
  std::printf("%zu programs attached\n", checked);
  // And all of them in one program, as a 4096-instruction socket filter.
  std::vector<SignatureSource> requests;
  for (const auto& [sig, response] : sigs) {
    if (!response && requests.size() < 20) requests.push_back({sig, ""});
  }
  Compilation all = compile(requests, {});
  ASSERT_TRUE(all.ok());
  EXPECT_GT(all.program->instructions.size(), 255u);  // far jumps included
  std::printf("%zu instructions for %zu signatures\n", all.program->instructions.size(), requests.size());
  EXPECT_TRUE(is_valid(*all.program));
  EXPECT_TRUE(kernel_accepts(*all.program));
}

TEST(Kernel, RejectsAnInvalidProgram) {
  // The check above can fail: a jump past the end is refused.
  BpfProgram broken;
  bpf_insn jump{};
  jump.code = BPF_JMP | BPF_JA;
  jump.k = 5;
  broken.instructions = {jump};
  EXPECT_FALSE(kernel_accepts(broken));
  EXPECT_FALSE(is_valid(broken));
}

// The design-card command of the README, in a namespace of its own.
TEST(Kernel, IptablesAcceptsTheDesignCardRule) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root for iptables in a network namespace");
  int status = 0;
  testing::run_shell("command -v iptables && command -v ip6tables && command -v ip", &status);
  P0FBPF_REQUIRE(status == 0, "iptables, ip6tables or ip (iproute2) missing");
  std::string ns = "p0fbpf-test-" + std::to_string(getpid());
  testing::run_shell("ip netns add " + ns, &status);
  ASSERT_EQ(status, 0) << "ip netns add failed";
  std::string binary = P0FBPF_BINARY;
  std::string v4 = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  std::string v6 = "6:64:0:*:mss*10,6:mss,sok,ts,nop,ws::0";
  std::string out = testing::run_shell("ip netns exec " + ns + " iptables -A INPUT -p tcp --syn -m bpf --bytecode \"$(" +
                              binary + " '" + v4 + "')\" -j DROP",
                          &status);
  EXPECT_EQ(status, 0) << out;
  out = testing::run_shell("ip netns exec " + ns + " ip6tables -A INPUT -p tcp --syn -m bpf --bytecode \"$(" + binary +
                  " '" + v6 + "')\" -j DROP",
              &status);
  EXPECT_EQ(status, 0) << out;
  std::string rules = testing::run_shell("ip netns exec " + ns + " iptables -S INPUT", &status);
  std::string program = testing::run_shell(binary + " '" + v4 + "'", &status);
  program.pop_back();
  EXPECT_NE(rules.find("--bytecode \"" + program + "\""), std::string::npos) << rules;
  std::string rules6 = testing::run_shell("ip netns exec " + ns + " ip6tables -S INPUT", &status);
  EXPECT_NE(rules6.find("-m bpf --bytecode"), std::string::npos) << rules6;
  testing::run_shell("ip netns del " + ns, &status);
}

}  // namespace
}  // namespace p0fbpf
