// signatures/p0fbpf.fp against the live kernel and tools (root): each
// setting its "measured here" entries were taken under is set up again in
// fresh network namespaces (p0fbpf-db-a-PID and p0fbpf-db-b-PID, joined by
// a veth pair), the kernel's own SYNs and SYN+ACKs (a plain connect() from
// a to a listener in b) or a tool's SYNs are captured with tcpdump in b, and
// then, with the p0fbpf binary:
// - every SYN (SYN+ACK) captured matches the setting's label, and no other
//   label of the database: otherwise the stack sends something new, and the
//   message gives its raw signatures (`p0fbpf fingerprint`);
// - every signature of the labels measured is matched by some capture:
//   otherwise the stack no longer sends what the entry says.
// Without root, tcpdump or a tool: skipped with a message, a failure under
// CI=true.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "database_sources.hpp"
#include "netns.hpp"
#include "p0fbpf/database.hpp"
#include "tcpdump_capture.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

const std::string kDatabase = std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp";
constexpr const char* kAddressA = "10.97.0.1";
constexpr const char* kAddressB = "10.97.0.2";
constexpr const char* kAddress6A = "fd97::1";
constexpr const char* kAddress6B = "fd97::2";
constexpr int kPort = 8080;
constexpr int kConnects = 3;  // per IP version

// A setting of the Linux stack: commands run before the connects ({a} and
// {b} are the namespaces), and the labels its SYNs and SYN+ACKs must have
// (an empty response label: its SYN+ACKs are not in the database).
struct StackSetting {
  const char* name;
  std::vector<std::string> setup;
  const char* request_label;
  const char* response_label;
};

std::string both(const std::string& sysctls) {
  return fmt::format("ip netns exec {{a}} sysctl -qw {0} && ip netns exec {{b}} sysctl -qw {0}", sysctls);
}

const std::vector<StackSetting>& stack_settings() {
  static const std::vector<StackSetting> settings = {
      {"defaults", {}, "s:unix:Linux:6.x", "s:unix:Linux:6.x"},
      {"routes with advmss 1200",
       {"ip -n {a} route replace 10.97.0.0/24 dev va advmss 1200",
        "ip -n {a} -6 route replace fd97::/64 dev va metric 256 advmss 1200",
        "ip -n {b} route replace 10.97.0.0/24 dev vb advmss 1200",
        "ip -n {b} -6 route replace fd97::/64 dev vb metric 256 advmss 1200"},
       "s:unix:Linux:6.x",
       "s:unix:Linux:6.x"},
      {"MTU 9000", {"ip -n {a} link set va mtu 9000", "ip -n {b} link set vb mtu 9000"}, "s:unix:Linux:6.x",
       "s:unix:Linux:6.x"},
      {"tcp_rmem max 6 MiB", {both("'net.ipv4.tcp_rmem=4096 131072 6291456'")},
       "s:unix:Linux:6.x (tcp_rmem max 6 MiB)", ""},
      {"timestamps off", {both("net.ipv4.tcp_timestamps=0")}, "s:unix:Linux:6.x (timestamps off)",
       "s:unix:Linux:6.x (timestamps off)"},
      {"SACK off", {both("net.ipv4.tcp_sack=0")}, "s:unix:Linux:6.x (SACK off)", "s:unix:Linux:6.x (SACK off)"},
      {"window scaling off", {both("net.ipv4.tcp_window_scaling=0")}, "s:unix:Linux:6.x (window scaling off)",
       "s:unix:Linux:6.x (window scaling off)"},
      {"timestamps, SACK and window scaling off",
       {both("net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0 net.ipv4.tcp_window_scaling=0")},
       "s:unix:Linux:6.x (timestamps, SACK and window scaling off)", ""},
      {"client asks for ECN", {"ip netns exec {a} sysctl -qw net.ipv4.tcp_ecn=1"}, "s:unix:Linux:6.x (ECN)",
       "s:unix:Linux:6.x (ECN)"},
      {"initial TTL 128",
       {"ip netns exec {a} sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv6.conf.all.hop_limit=128 "
        "net.ipv6.conf.default.hop_limit=128 net.ipv6.conf.va.hop_limit=128",
        "ip netns exec {b} sysctl -qw net.ipv4.ip_default_ttl=128 net.ipv6.conf.all.hop_limit=128 "
        "net.ipv6.conf.vb.hop_limit=128"},
       "s:unix:Linux:6.x (initial TTL 128)",
       "s:unix:Linux:6.x (initial TTL 128)"},
      {"initial TTL 255",
       {"ip netns exec {a} sysctl -qw net.ipv4.ip_default_ttl=255 net.ipv6.conf.all.hop_limit=255 "
        "net.ipv6.conf.default.hop_limit=255 net.ipv6.conf.va.hop_limit=255"},
       "s:unix:Linux:6.x (initial TTL 255)",
       ""},
  };
  return settings;
}

// A tool's default SYNs: the command run in namespace a ({b4}, {a4}, {b6}:
// the addresses; {mac_b}: vb's MAC address), and the label they must have.
// A tool that is a library rather than a binary names the Debian package,
// the shell test that it is installed and the command that prints its
// version.
struct ToolRun {
  const char* binary;
  const char* command;
  const char* label;
  const char* package = nullptr;    // default: binary
  const char* installed = nullptr;  // default: command -v binary
  const char* version = nullptr;    // default: binary --version
  // A listening port in b ({port}) for the tool to find open.
  bool open_port = false;
  // The SYNs of the capture that the run's label is not about (a tcpdump
  // filter), left out of it.
  const char* not_the_run = nullptr;
};

const std::map<std::string, std::vector<ToolRun>>& tool_runs() {
  static const std::map<std::string, std::vector<ToolRun>> runs = {
      {"hping3", {{"hping3", "hping3 -S -p 80 -c 100 -i u2000 {b4}", "s:!:hping3:SYN flood"}}},
      {"nmap",
       {{"nmap", "nmap -sS -n -Pn -p 1-100 --max-retries 0 -T4 {b4}", "s:!:nmap:SYN scan"},
        {"nmap", "nmap -6 -sS -n -Pn -p 1-100 --max-retries 0 -T4 {b6}", "s:!:nmap:SYN scan"}}},
      {"masscan",
       {{"masscan",
         "masscan {b4} -p1-100 --rate 1000 --wait 1 --adapter va --adapter-ip {a4} --router-mac {mac_b}",
         "s:!:masscan:SYN scan"}}},
      {"zmap",
       {{"zmap", "zmap -p 80 -P 50 -r 1000 -c 1 -i va -S {a4} -G {mac_b} -b /dev/null -q -o /dev/null {b4}/32",
         "s:!:zmap:SYN scan"}}},
      // nmap's OS detection, with an open port (the listener's) and a
      // closed one: its port scan's SYNs (window 1024, s:!:nmap:SYN scan)
      // are not the run's.
      {"nmap_os",
       {{"nmap", "nmap -O -n -Pn -p {port},81 --max-retries 0 {b4}", "s:!:nmap:OS detection", nullptr, nullptr,
         nullptr, true, "(ip and tcp[14:2] == 1024) or (ip6 and ip6[54:2] == 1024)"},
        {"nmap", "nmap -6 -O -n -Pn -p {port},81 --max-retries 0 {b6}", "s:!:nmap:OS detection", nullptr, nullptr,
         nullptr, true, "(ip and tcp[14:2] == 1024) or (ip6 and ip6[54:2] == 1024)"}}},
      // scapy's default SYN: TCP()'s defaults (flags S; port 80 here) over
      // IP() or IPv6(), sent at layer 3 as a script using the library does.
      {"scapy",
       {{"scapy",
         "/usr/bin/python3 -c \"from scapy.all import *; conf.verb = 0; "
         "send(IP(dst='{b4}') / TCP(dport=80), count=40, inter=0.002)\"",
         "s:!:scapy:default SYN", "python3-scapy", "/usr/bin/python3 -c 'import scapy'",
         "/usr/bin/python3 -c 'import scapy; print(\"scapy\", scapy.__version__)'"},
        {"scapy",
         "/usr/bin/python3 -c \"from scapy.all import *; conf.verb = 0; "
         "send(IPv6(dst='{b6}') / TCP(dport=80), count=40, inter=0.002)\"",
         "s:!:scapy:default SYN", "python3-scapy", "/usr/bin/python3 -c 'import scapy'",
         "/usr/bin/python3 -c 'import scapy; print(\"scapy\", scapy.__version__)'"}}},
  };
  return runs;
}

Database read_db() {
  std::ifstream in(kDatabase);
  std::stringstream text;
  text << in.rdbuf();
  DatabaseResult read = read_database(text.str(), kDatabase);
  if (!in || !read.ok()) throw std::runtime_error("cannot read " + kDatabase);
  return read.database;
}

// The label as an RE2 pattern for itself alone.
std::string escaped(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "M of N packets matched": {M, N}, or {-1, -1}.
std::pair<long, long> matched(const std::string& out) {
  long m = -1, n = -1;
  if (std::sscanf(out.c_str(), "%ld of %ld packets matched", &m, &n) != 2) return {-1, -1};
  return {m, n};
}

// What the captures keep: SYNs coming in on vb, SYN+ACKs going out, IPv4
// and IPv6 without extension headers.
const char* kSyns = "(ip and tcp[13] & 0x17 == 0x02) or (ip6 and ip6[6] == 6 and ip6[53] & 0x17 == 0x02)";
const char* kSynAcks = "(ip and tcp[13] & 0x17 == 0x12) or (ip6 and ip6[6] == 6 and ip6[53] & 0x17 == 0x12)";

// A listening socket on port 8080 of namespace b, both IP versions, that
// accepts and closes every connection.
class Listener {
 public:
  explicit Listener(const std::string& ns) {
    int ready[2];
    if (pipe(ready) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      int nsfd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY);
      if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) _exit(1);
      int fd = socket(AF_INET6, SOCK_STREAM, 0);
      int off = 0, on = 1;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      sockaddr_in6 address{};
      address.sin6_family = AF_INET6;
      address.sin6_port = htons(kPort);
      address.sin6_addr = in6addr_any;
      if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 64) != 0) _exit(1);
      if (write(ready[1], "r", 1) != 1) _exit(1);
      for (;;) {
        int client = accept(fd, nullptr, nullptr);
        if (client >= 0) close(client);
      }
    }
    close(ready[1]);
    char byte;
    ready_ = read(ready[0], &byte, 1) == 1;
    close(ready[0]);
  }
  ~Listener() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

// A signature's text without the ack+ quirk, prefixed with '~': the two
// signatures a tool that leaves a random acknowledgment number in its SYNs
// sends (zero about half the time: hping3, nmap's OS detection), which one
// measurement need not both show.
std::string without_ack_quirk(const std::string& sig) {
  std::vector<std::string> fields;
  std::stringstream in(sig);
  for (std::string field; std::getline(in, field, ':');) fields.push_back(field);
  if (fields.size() < 8) return "~" + sig;
  std::string quirks, item;
  std::stringstream list(fields[6]);
  while (std::getline(list, item, ',')) {
    if (item != "ack+") quirks += (quirks.empty() ? "" : ",") + item;
  }
  fields[6] = quirks;
  std::string out = "~";
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? ":" : "") + fields[i];
  return out;
}

// The SYNs (or SYN+ACKs) p0fbpf fingerprint counts in a capture.
long packets_in(const std::string& capture, Direction direction) {
  bool response = direction == Direction::Response;
  std::string json =
      run_shell(fmt::format("{} fingerprint{} --json -r {}", P0FBPF_BINARY, response ? " --response" : "", capture));
  std::string key = response ? "\"syn_acks\": " : "\"syns\": ";
  auto at = json.find(key);
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size()));
}

// kConnects connect()s from the current namespace to b over each IP
// version: how many succeeded.
int connect_all() {
  int ok = 0;
  for (bool ipv6 : {false, true}) {
    for (int i = 0; i < kConnects; ++i) {
      int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
      timeval timeout{3, 0};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      int r = -1;
      if (ipv6) {
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_port = htons(kPort);
        inet_pton(AF_INET6, kAddress6B, &to.sin6_addr);
        r = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
      } else {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(kPort);
        inet_pton(AF_INET, kAddressB, &to.sin_addr);
        r = connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
      }
      ok += r == 0;
      close(fd);
    }
  }
  return ok;
}

class MeasuredSignatures : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root (network namespaces)");
    P0FBPF_REQUIRE(std::system("command -v tcpdump > /dev/null") == 0, "tcpdump is not installed");
    db_ = read_db();
  }

  // Fresh namespaces with addresses.
  std::unique_ptr<Namespaces> namespaces() {
    auto ns = std::make_unique<Namespaces>("p0fbpf-db");
    ns->run(fmt::format("ip -n {} link set lo up", ns->a()));
    ns->run(fmt::format("ip -n {} addr add {}/24 dev va", ns->a(), kAddressA));
    ns->run(fmt::format("ip -n {} addr add {}/24 dev vb", ns->b(), kAddressB));
    ns->run(fmt::format("ip -n {} addr add {}/64 dev va nodad", ns->a(), kAddress6A));
    ns->run(fmt::format("ip -n {} addr add {}/64 dev vb nodad", ns->b(), kAddress6B));
    return ns;
  }

  const DatabaseLabel* label(const std::string& text, Direction direction) const {
    for (const auto& l : db_.labels) {
      if (l.text == text && l.direction == direction) return &l;
    }
    return nullptr;
  }

  // Every captured packet matches `label_text` and no other label of its
  // direction; the signatures of the label each capture matches go into
  // `seen`.
  void check_capture(const std::string& what, const std::string& capture, const std::string& label_text,
                     Direction direction, long expected_packets) {
    SCOPED_TRACE(what);
    const DatabaseLabel* own = label(label_text, direction);
    ASSERT_NE(own, nullptr) << label_text << " is not a label of " << kDatabase;
    std::string response = direction == Direction::Response ? " --response" : "";
    std::string fingerprint = run_shell(fmt::format("{} fingerprint{} -r {}", P0FBPF_BINARY, response, capture));
    auto [m, n] = matched(run_shell(fmt::format("{} test{} -r {} -F {} --label {}", P0FBPF_BINARY, response,
                                                capture, kDatabase, quoted("^" + escaped(label_text) + "$"))));
    EXPECT_GE(n, expected_packets) << "too few packets captured; their signatures:\n" << fingerprint;
    EXPECT_EQ(m, n) << "the stack no longer sends what " << label_text
                    << " says; the signatures captured (p0fbpf fingerprint" << response << "):\n"
                    << fingerprint;
    std::string others;
    for (const auto& l : db_.labels) {
      if (l.direction == direction && l.text != label_text) others += (others.empty() ? "" : "|") + escaped(l.text);
    }
    auto [m_other, n_other] = matched(run_shell(fmt::format("{} test{} -r {} -F {} --label {}", P0FBPF_BINARY,
                                                            response, capture, kDatabase,
                                                            quoted("^(?:" + others + ")$"))));
    EXPECT_EQ(m_other, 0) << "packets of " << label_text << " match other labels too:\n" << fingerprint;
    EXPECT_EQ(n_other, n);
    for (const auto& sig : own->signatures) {
      auto [hit, total] = matched(
          run_shell(fmt::format("{} test{} -r {} {}", P0FBPF_BINARY, response, capture, quoted(sig.text))));
      if (hit > 0) {
        std::string key = label_text + (direction == Direction::Response ? " [response]" : "");
        seen_.insert({key, sig.text});
        seen_.insert({key, without_ack_quirk(sig.text)});
      }
    }
  }

  // Every signature of the labels checked was matched by some capture.
  void check_every_signature_seen(const std::set<std::pair<std::string, Direction>>& labels) {
    for (const auto& [text, direction] : labels) {
      const DatabaseLabel* l = label(text, direction);
      ASSERT_NE(l, nullptr) << text;
      std::string key = text + (direction == Direction::Response ? " [response]" : "");
      for (const auto& sig : l->signatures) {
        EXPECT_TRUE(seen_.count({key, sig.text}) || seen_.count({key, without_ack_quirk(sig.text)}))
            << key << ": no measurement sends " << sig.text << " (" << sig.origin
            << ") any more: the entry is out of date";
      }
    }
  }

  Database db_;
  std::set<std::pair<std::string, std::string>> seen_;
};

TEST_F(MeasuredSignatures, LinuxStackSendsWhatTheDatabaseSays) {
  fmt::print("kernel {}", run_shell("uname -r"));
  std::set<std::pair<std::string, Direction>> labels;
  for (const auto& setting : stack_settings()) {
    SCOPED_TRACE(setting.name);
    std::string syns = temp_file("p0fbpf_measured_", "syn.pcap");
    std::string syn_acks = temp_file("p0fbpf_measured_", "synack.pcap");
    // A capture that misses packets (tcpdump not yet live after a link
    // change) is taken again, in fresh namespaces: what is checked is only
    // ever what was captured.
    for (int attempt = 1;; ++attempt) {
      auto ns = namespaces();
      for (const auto& command : setting.setup) {
        ns->run(fmt::format(fmt::runtime(command), fmt::arg("a", ns->a()), fmt::arg("b", ns->b())));
      }
      if (!setting.setup.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));  // links settle
      Listener listener(ns->b());
      ASSERT_TRUE(listener.ready());
      int connected = 0;
      {
        TcpdumpCapture syn_capture(ns->b(), syns, kSyns, "in", true);
        TcpdumpCapture syn_ack_capture(ns->b(), syn_acks, kSynAcks, "out", true);
        connected = std::stoi("0" + in_namespace(ns->a(), [] { return std::to_string(connect_all()); }));
        syn_capture.stop();
        syn_ack_capture.stop();
      }
      long captured_syns = packets_in(syns, Direction::Request);
      long captured_syn_acks = packets_in(syn_acks, Direction::Response);
      if (connected == 2 * kConnects && captured_syns >= 2 * kConnects && captured_syn_acks >= 2 * kConnects) break;
      if (attempt == 3) {
        ADD_FAILURE() << connected << " of " << 2 * kConnects << " connect()s succeeded, " << captured_syns
                      << " SYNs and " << captured_syn_acks << " SYN+ACKs captured, in 3 attempts";
        break;
      }
      fmt::print("{}: {} of {} connect()s, {} SYNs and {} SYN+ACKs captured; attempt {} of 3, again\n", setting.name,
                 connected, 2 * kConnects, captured_syns, captured_syn_acks, attempt);
    }
    check_capture(fmt::format("{}: SYNs", setting.name), syns, setting.request_label, Direction::Request,
                  2 * kConnects);
    labels.insert({setting.request_label, Direction::Request});
    if (*setting.response_label) {
      check_capture(fmt::format("{}: SYN+ACKs", setting.name), syn_acks, setting.response_label,
                    Direction::Response, 2 * kConnects);
      labels.insert({setting.response_label, Direction::Response});
    }
  }
  check_every_signature_seen(labels);
}

class MeasuredTools : public MeasuredSignatures, public ::testing::WithParamInterface<std::string> {};

TEST_P(MeasuredTools, SendWhatTheDatabaseSays) {
  const auto& runs = tool_runs().at(GetParam());
  std::set<std::pair<std::string, Direction>> labels;
  for (const auto& run : runs) {
    const char* package = run.package ? run.package : run.binary;
    std::string installed = run.installed ? run.installed : fmt::format("command -v {}", run.binary);
    P0FBPF_REQUIRE(std::system((installed + " > /dev/null 2>&1").c_str()) == 0,
                   fmt::format("{} is not installed (apt-get install {})", package, package));
    std::string version = run.version ? run.version : fmt::format("{} --version", run.binary);
    fmt::print("{}", run_shell(version + " 2>&1 | grep -m1 ."));
    // The tool is not under test: one that dies of a signal (zmap 2.1.1
    // aborts now and then) or hangs until timeout ends it (status 124: zmap
    // 2.1.1 also stalls now and then without sending a SYN) is run again, in
    // fresh namespaces. A run that works takes 1 to 6 s here (masscan the
    // longest); one that hangs is ended after 20 s.
    for (int attempt = 1;; ++attempt) {
      auto ns = namespaces();
      std::string mac = run_shell(fmt::format("ip netns exec {} cat /sys/class/net/vb/address", ns->b()));
      mac.erase(mac.find_last_not_of(" \n") + 1);
      std::string command =
          fmt::format(fmt::runtime(run.command), fmt::arg("a4", kAddressA), fmt::arg("b4", kAddressB),
                      fmt::arg("b6", kAddress6B), fmt::arg("mac_b", mac), fmt::arg("port", kPort));
      std::string syns = temp_file("p0fbpf_measured_", GetParam() + ".pcap");
      std::optional<Listener> listener;
      if (run.open_port) {
        listener.emplace(ns->b());
        ASSERT_TRUE(listener->ready());
      }
      std::string filter = run.not_the_run ? fmt::format("({}) and not ({})", kSyns, run.not_the_run) : kSyns;
      int status = 0;
      std::string out;
      {
        TcpdumpCapture capture(ns->b(), syns, filter, "in", true);
        out = run_shell(fmt::format("ip netns exec {} timeout 20 {}", ns->a(), command), &status);
        capture.stop();
      }
      bool hung = status == 124;
      if (tool_gave_up(status) && attempt < 3) {
        fmt::print("{} {} (status {}), attempt {} of 3: run again\n{}\n", run.binary,
                   hung ? "hung until timeout ended it" : "died of a signal", status, attempt, out);
        continue;
      }
      ASSERT_EQ(status, 0) << command << ": " << out;
      check_capture(command, syns, run.label, Direction::Request, 8);  // zmap: 16 of its 50 seen; nmap -6 -O: 8
      labels.insert({run.label, Direction::Request});
      break;
    }
  }
  check_every_signature_seen(labels);
}

INSTANTIATE_TEST_SUITE_P(Tools, MeasuredTools,
                         ::testing::Values("hping3", "nmap", "nmap_os", "masscan", "zmap", "scapy"),
                         [](const ::testing::TestParamInfo<std::string>& tool) { return tool.param; });

// The tables above measure every label of the database: none is left
// without a check against the live stack. (No root needed.)
TEST(MeasuredSignaturesTables, CoverEveryLabel) {
  std::set<std::pair<std::string, Direction>> measured;
  for (const auto& s : stack_settings()) {
    measured.insert({s.request_label, Direction::Request});
    if (*s.response_label) measured.insert({s.response_label, Direction::Response});
  }
  for (const auto& [tool, runs] : tool_runs()) {
    for (const auto& run : runs) measured.insert({run.label, Direction::Request});
  }
  Database db = read_db();
  // Entries from public facts (a "; source:" comment on every signature,
  // checked by signature_database_test) are not measured here.
  std::ifstream in(kDatabase);
  std::stringstream contents;
  contents << in.rdbuf();
  auto sourced = sourced_signature_lines(contents.str());
  std::size_t public_labels = 0;
  for (const auto& l : db.labels) {
    bool is_sourced = false;
    for (const auto& s : l.signatures) is_sourced = is_sourced || sourced.count(origin_line(s.origin));
    if (is_sourced) {
      EXPECT_FALSE(measured.count({l.text, l.direction})) << l.text << " is measured here but names a public source";
      ++public_labels;
      continue;
    }
    EXPECT_TRUE(measured.count({l.text, l.direction}))
        << l.text << (l.direction == Direction::Response ? " [tcp:response]" : "")
        << " is measured by no setting or tool of this test";
  }
  for (const auto& [text, direction] : measured) {
    bool found = false;
    for (const auto& l : db.labels) found = found || (l.text == text && l.direction == direction);
    EXPECT_TRUE(found) << text << " is measured here but is not in " << kDatabase;
  }
  EXPECT_GT(public_labels, 0u);
}

}  // namespace
}  // namespace p0fbpf::testing
