#include "p0fbpf/emit.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "p0fbpf/compiler.hpp"
#include "test_env.hpp"

namespace p0fbpf {
namespace {

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

BpfProgram design_card() {
  Compilation c = compile({{kDesignCard, ""}}, {});
  EXPECT_TRUE(c.ok());
  return *c.program;
}

// Golden outputs: reviewed by hand once, then kept so that any change to the
// generated code is a visible diff.
class Golden : public ::testing::TestWithParam<std::pair<Format, const char*>> {};

TEST_P(Golden, DesignCardMatchesTheReviewedFile) {
  auto [format, name] = GetParam();
  std::string expected = read_file(std::string(P0FBPF_TEST_DATA) + "/golden/design-card." + name);
  ASSERT_FALSE(expected.empty()) << name;
  EXPECT_EQ(emit(design_card(), format), expected);
}

INSTANTIATE_TEST_SUITE_P(Formats, Golden,
                         ::testing::Values(std::make_pair(Format::Iptables, "iptables"),
                                           std::make_pair(Format::Assembly, "asm"),
                                           std::make_pair(Format::C, "c"),
                                           std::make_pair(Format::Decimal, "ddd")));

TEST(Emit, IptablesIsOneLineOfCountThenQuadruples) {
  BpfProgram p = design_card();
  std::string text = emit(p, Format::Iptables);
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  std::stringstream in(text);
  std::string item;
  std::getline(in, item, ',');
  EXPECT_EQ(std::stoul(item), p.instructions.size());
  std::size_t i = 0;
  while (std::getline(in, item, ',')) {
    unsigned code, jt, jf, k;
    ASSERT_EQ(std::sscanf(item.c_str(), "%u %u %u %u", &code, &jt, &jf, &k), 4) << item;
    EXPECT_EQ(code, p.instructions[i].code);
    EXPECT_EQ(k, p.instructions[i].k);
    ++i;
  }
  EXPECT_EQ(i, p.instructions.size());
}

TEST(Emit, AssemblyCommentsNameTheField) {
  std::string text = emit(design_card(), Format::Assembly);
  EXPECT_NE(text.find("; ttl"), std::string::npos);
  EXPECT_NE(text.find("olayout[2] ts"), std::string::npos);
  EXPECT_NE(text.find("; quirk id+"), std::string::npos);
  EXPECT_NE(text.find("; wsize"), std::string::npos);
  EXPECT_NE(text.find("ret      #262144"), std::string::npos);
}

TEST(Emit, DotIsAGraphvizGraphOfTheBlocks) {
  BpfProgram p = design_card();
  std::string text = emit(p, Format::Dot);
  EXPECT_EQ(text.rfind("digraph p0fbpf {", 0), 0u);
  EXPECT_NE(text.find("ACCEPT\\l(052) ret      #262144"), std::string::npos) << text;
  EXPECT_NE(text.find("REJECT\\l(051) ret      #0"), std::string::npos);
  EXPECT_NE(text.find("[label=\"true\", color=darkgreen]"), std::string::npos);
  EXPECT_NE(text.find("olayout[1] sok, olayout[2] ts"), std::string::npos);  // the block's fields
  // Every instruction is in exactly one block.
  for (std::size_t i = 0; i < p.instructions.size(); ++i) {
    std::string tag = fmt::format("({:03d})", i);
    EXPECT_NE(text.find(tag), std::string::npos) << tag;
    EXPECT_EQ(text.find(tag), text.rfind(tag)) << tag;
  }
  P0FBPF_REQUIRE(std::system("command -v dot > /dev/null 2>&1") == 0, "graphviz is not installed (apt-get install graphviz)");
  std::string path = ::testing::TempDir() + "p0fbpf_" + std::to_string(getpid()) + ".dot";
  std::ofstream(path) << text;
  EXPECT_EQ(std::system(("dot -Tsvg " + path + " > /dev/null").c_str()), 0);
  std::remove(path.c_str());
}

TEST(Emit, FormatNames) {
  EXPECT_EQ(parse_format("iptables"), Format::Iptables);
  EXPECT_EQ(parse_format("asm"), Format::Assembly);
  EXPECT_EQ(parse_format("c"), Format::C);
  EXPECT_EQ(parse_format("ddd"), Format::Decimal);
  EXPECT_EQ(parse_format("dot"), Format::Dot);
  EXPECT_FALSE(parse_format("svg").has_value());
}

TEST(Emit, CFragmentCompilesAsIs) {
  std::string path = ::testing::TempDir() + "p0fbpf_emit_" + std::to_string(getpid()) + ".c";
  {
    std::ofstream out(path);
    BpfProgram p = design_card();
    out << emit(p, Format::C) << "int main(void) { return p0fbpf_program.len == " << p.instructions.size()
        << " && p0fbpf_program.filter[0].code == " << p.instructions[0].code << " ? 0 : 1; }\n";
  }
  std::string binary = path + ".out";
  int status = std::system(("cc -Wall -Werror -o " + binary + " " + path + " && " + binary).c_str());
  EXPECT_EQ(status, 0);
  std::remove(path.c_str());
  std::remove(binary.c_str());
}

// Included in a file that does not use the program, it still compiles
// without a warning.
TEST(Emit, CFragmentAloneHasNoWarnings) {
  std::string path = ::testing::TempDir() + "p0fbpf_emit_alone_" + std::to_string(getpid()) + ".c";
  std::ofstream(path) << emit(design_card(), Format::C) << "int main(void) { return 0; }\n";
  int status = std::system(("cc -Wall -Wextra -Werror -fsyntax-only " + path).c_str());
  EXPECT_EQ(status, 0);
  std::remove(path.c_str());
}

// The tcpdump-compatible formats print exactly what tcpdump prints for the
// same program; libpcap compiles one for us to compare.
class TcpdumpFormats : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(std::system("command -v tcpdump > /dev/null 2>&1") == 0,
                   "tcpdump is not installed (apt-get install tcpdump)");
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
    bpf_program compiled{};
    ASSERT_EQ(pcap_compile(dead, &compiled, kExpression, 1, PCAP_NETMASK_UNKNOWN), 0);
    program_.instructions.assign(compiled.bf_insns, compiled.bf_insns + compiled.bf_len);
    program_.comments.assign(compiled.bf_len, "");
    pcap_freecode(&compiled);
    pcap_close(dead);
  }

  std::string tcpdump(const char* flag) {
    return run_command(std::string("tcpdump ") + flag + " '" + kExpression + "' 2>/dev/null");
  }

  static constexpr const char* kExpression = "tcp[tcpflags] & tcp-syn != 0 and ip[8] < 65";
  BpfProgram program_;
};

TEST_F(TcpdumpFormats, AssemblyWithoutCommentsIsTcpdumpD) {
  EXPECT_EQ(emit(program_, Format::Assembly), tcpdump("-d"));
}

TEST_F(TcpdumpFormats, DecimalIsTcpdumpDdd) { EXPECT_EQ(emit(program_, Format::Decimal), tcpdump("-ddd")); }

TEST_F(TcpdumpFormats, CArrayLinesAreTcpdumpDd) {
  std::string ours = emit(program_, Format::C);
  std::stringstream theirs(tcpdump("-dd"));
  std::string line;
  int lines = 0;
  while (std::getline(theirs, line)) {
    EXPECT_NE(ours.find("\t" + line + "\n"), std::string::npos) << line;
    ++lines;
  }
  EXPECT_EQ(static_cast<std::size_t>(lines), program_.instructions.size());
}

}  // namespace
}  // namespace p0fbpf
