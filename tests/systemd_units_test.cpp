// The systemd units (src/dist/), as `cmake --install` writes them into a
// prefix of this test's own: systemd-analyze verify passes on each, and each
// unit's ExecStart and ExecStop lines, read from the installed file with %i
// and %I put in as systemd does, run by hand in a network namespace of the
// test's own (prefix p0su) with the unit's capability bounding set and
// NoNewPrivileges (setpriv), leave the device, the pins and the rules as
// the unit promises. Runs as root; skipped with a message outside CI.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "netns.hpp"
#include "script_tools.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

const std::string kSignature = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The binary, the database and the units, installed once by cmake --install
// from this build into a temporary prefix (removed when the tests end).
struct Install {
  std::string prefix, log;
  bool ok = false;
  Install() {
    prefix = ::testing::TempDir() + "p0su_install_" + std::to_string(getpid());
    int status = 0;
    log = run_shell("cmake --install '" P0FBPF_BUILD_DIR "' --prefix '" + prefix + "'", &status);
    ok = status == 0;
    run_shell("mkdir -p '" + prefix + "/etc/p0fbpf'");
  }
  ~Install() { run_shell("rm -rf '" + prefix + "'"); }
  std::string unit_dir() const { return prefix + "/lib/systemd/system/"; }
  std::string config(const std::string& name) const { return prefix + "/etc/p0fbpf/" + name; }
};

const Install& install() {
  static Install installed;
  return installed;
}

// One installed unit file and its settings.
class Unit {
 public:
  explicit Unit(const std::string& name) : path_(install().unit_dir() + name), text_(read_file(path_)) {
    std::istringstream lines(text_);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '[') continue;
      auto equals = line.find('=');
      if (equals != std::string::npos) settings_[line.substr(0, equals)].push_back(line.substr(equals + 1));
    }
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> all(const std::string& key) const {
    auto found = settings_.find(key);
    return found == settings_.end() ? std::vector<std::string>{} : found->second;
  }
  std::string one(const std::string& key) const {
    auto values = all(key);
    EXPECT_EQ(values.size(), 1u) << key << " in " << path_;
    return values.empty() ? "" : values[0];
  }

 private:
  std::string path_, text_;
  std::map<std::string, std::vector<std::string>> settings_;
};

// systemd's %i (the instance, escaped as in unit names) and %I (unescaped);
// the units use no other specifier and no $, so that a shell runs their
// command lines as systemd does.
std::string specified(std::string line, const std::string& instance) {
  for (std::size_t at = line.find('%'); at != std::string::npos; at = line.find('%', at)) {
    char specifier = at + 1 < line.size() ? line[at + 1] : '\0';
    EXPECT_TRUE(specifier == 'i' || specifier == 'I') << "specifier %" << specifier << " in " << line;
    line.replace(at, 2, instance);
    at += instance.size();
  }
  EXPECT_EQ(line.find('$'), std::string::npos) << line;
  return line;
}

// Runs one of the unit's command lines in namespace `ns` (its network
// namespace only: the BPF file system is the machine's, as for a service),
// with the unit's capability bounding set and no new privileges.
int run_line(const Unit& unit, const std::string& line, const std::string& instance, const std::string& ns,
             const std::string& env, std::string* out) {
  std::string caps = "-all";
  std::istringstream names(unit.one("CapabilityBoundingSet"));
  std::string name;
  while (names >> name) {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    caps += ",+" + name.substr(name.rfind("cap_") == 0 ? 4 : 0);
  }
  EXPECT_EQ(unit.one("NoNewPrivileges"), "yes");
  std::string file = temp_file("p0su_line_", instance);
  std::ofstream(file) << specified(line, instance) << "\n";
  int status = 0;
  *out = run_shell("nsenter --net=/var/run/netns/" + ns + " " + env +
                       "setpriv --no-new-privs --inh-caps=-all --bounding-set=" + caps + " sh " + file,
                   &status);
  return status;
}

// ExecStart's lines one after another, stopping at the first that fails,
// as systemd starts a Type=oneshot unit; 0 or that line's status.
int start(const Unit& unit, const std::string& instance, const std::string& ns, const std::string& env,
          std::string* out) {
  EXPECT_EQ(unit.one("Type"), "oneshot");
  EXPECT_EQ(unit.one("RemainAfterExit"), "yes");
  out->clear();
  for (const std::string& line : unit.all("ExecStart")) {
    std::string said;
    int status = run_line(unit, line, instance, ns, env, &said);
    *out += said;
    if (status != 0) return status;
  }
  return 0;
}

int stop(const Unit& unit, const std::string& instance, const std::string& ns, const std::string& env,
         std::string* out) {
  return run_line(unit, unit.one("ExecStop"), instance, ns, env, out);
}

#define REQUIRE_ROOT_AND_TOOLS()                                                                               \
  do {                                                                                                         \
    int found = 0;                                                                                             \
    run_shell("command -v nsenter && command -v setpriv && command -v ip && command -v cmake", &found);       \
    P0FBPF_REQUIRE(geteuid() == 0 && found == 0, "needs root, nsenter, setpriv (util-linux), ip and cmake"); \
    ASSERT_TRUE(install().ok) << install().log;                                                                \
  } while (0)

TEST(SystemdUnits, InstalledWithTheBinaryTheyName) {
  int found = 0;
  run_shell("command -v cmake", &found);
  P0FBPF_REQUIRE(found == 0, "needs cmake");
  ASSERT_TRUE(install().ok) << install().log;
  for (const char* name : {"p0fbpf-xdp@.service", "p0fbpf-pin@.service"}) {
    Unit unit(name);
    ASSERT_TRUE(exists(unit.path())) << install().log;
    // The first ExecStart runs the installed binary on a file in the prefix's etc/p0fbpf.
    const std::string first = unit.all("ExecStart").front();
    EXPECT_NE(first.find(install().prefix + "/bin/p0fbpf "), std::string::npos) << first;
    EXPECT_NE(first.find("--config " + install().prefix + "/etc/p0fbpf/"), std::string::npos) << first;
#ifdef P0FBPF_MAN
    EXPECT_EQ(unit.all("Documentation"), std::vector<std::string>{"man:p0fbpf(1)"}) << name;
#else
    EXPECT_TRUE(unit.all("Documentation").empty()) << name;
#endif
  }
}

// Every unit, as an instance (a template alone cannot be loaded), passes
// systemd-analyze verify with nothing to say.
TEST(SystemdUnits, VerifyPasses) {
  int found = 0;
  run_shell("command -v systemd-analyze && command -v cmake", &found);
  P0FBPF_REQUIRE(found == 0, "needs systemd-analyze (apt-get install systemd) and cmake");
  ASSERT_TRUE(install().ok) << install().log;
  std::string dir = ::testing::TempDir() + "p0su_verify_" + std::to_string(getpid());
  run_shell("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
  for (const char* instance : {"p0fbpf-xdp@eth0.service", "p0fbpf-pin@linux.service"}) {
    std::string name = instance;
    std::string template_name = name.substr(0, name.find('@') + 1) + ".service";
    run_shell("cp '" + install().unit_dir() + template_name + "' '" + dir + "/" + name + "'");
    int status = 0;
    // man, which verify runs for Documentation=, finds the page in the prefix.
    std::string out = run_shell("MANPATH='" + install().prefix + "/share/man' systemd-analyze verify '" + dir + "/" +
                                    name + "'",
                                &status);
    EXPECT_EQ(status, 0) << name << ": " << out;
    EXPECT_EQ(out, "") << name;
  }
  // The check can fail: a unit whose binary is missing does not pass.
  run_shell("sed 's#^ExecStart=[^ ]*#ExecStart=/nonexistent/p0fbpf#' '" + install().unit_dir() +
            "p0fbpf-xdp@.service' > '" + dir + "/p0fbpf-xdp@eth1.service'");
  int status = 0;
  run_shell("systemd-analyze verify '" + dir + "/p0fbpf-xdp@eth1.service'", &status);
  EXPECT_NE(status, 0);
  run_shell("rm -rf '" + dir + "'");
}

// The XDP device's program, as ip prints it ("" when none).
std::string xdp_program(const Namespaces& ns) {
  std::string link = run_shell("ip -n " + ns.a() + " -d link show va");
  auto at = link.find("prog/xdp");
  return at == std::string::npos ? "" : link.substr(at, link.find('\n', at) - at);
}

// Where p0fbpf pins va's program: BPFFS/p0fbpf/NETNS_IFINDEX.
std::string pin_directory(const Namespaces& ns) {
  std::string inode = run_shell("stat -L -c %i /var/run/netns/" + ns.a());
  std::string index = run_shell("ip -n " + ns.a() + " -o link show va");
  return "/sys/fs/bpf/p0fbpf/" + inode.substr(0, inode.find('\n')) + "_" + index.substr(0, index.find(':'));
}

TEST(SystemdUnits, XdpUnitAttachesAndDetaches) {
  REQUIRE_ROOT_AND_TOOLS();
  Namespaces ns("p0su");
  Unit unit("p0fbpf-xdp@.service");
  EXPECT_EQ(unit.one("BindsTo"), "sys-subsystem-net-devices-%i.device");
  EXPECT_EQ(unit.one("After"), "sys-subsystem-net-devices-%i.device");
  // The file's device is overridden by the instance: stop detaches what start attached.
  std::ofstream(install().config("xdp-va.toml")) << "device = \"vb\"\nsignature = [\"" << kSignature
                                                 << "\"]\nmode = \"generic\"\n";
  std::string out;
  ASSERT_EQ(start(unit, "va", ns.a(), "", &out), 0) << out;
  std::string program = xdp_program(ns);
  EXPECT_NE(program.find("name p0fbpf"), std::string::npos) << out;
  const std::string pins = pin_directory(ns);
  EXPECT_TRUE(exists(pins + "/program")) << pins;
  EXPECT_TRUE(exists(pins + "/counters")) << pins;
  std::string stats = run_shell("nsenter --net=/var/run/netns/" + ns.a() + " " + install().prefix +
                                "/bin/p0fbpf xdp stats va --json");
  EXPECT_NE(stats.find(kSignature), std::string::npos) << stats;
  EXPECT_EQ(run_shell("ip -n " + ns.b() + " -d link show vb").find("prog/xdp"), std::string::npos);

  // Started again (as at a second boot's attach, or ExecReload): nothing changes.
  ASSERT_EQ(start(unit, "va", ns.a(), "", &out), 0) << out;
  EXPECT_EQ(xdp_program(ns), program);
  ASSERT_EQ(run_line(unit, unit.one("ExecReload"), "va", ns.a(), "", &out), 0) << out;
  EXPECT_EQ(xdp_program(ns), program);

  // A bad file while attached: the reload fails and the program stays as it was.
  std::ofstream(install().config("xdp-va.toml")) << "signature = [\"4:64:0:*:mss*10,6:mss,bogus:df:0\"]\n";
  EXPECT_EQ(run_line(unit, unit.one("ExecReload"), "va", ns.a(), "", &out), 2) << out;
  EXPECT_EQ(xdp_program(ns), program);

  ASSERT_EQ(stop(unit, "va", ns.a(), "", &out), 0) << out;
  EXPECT_EQ(xdp_program(ns), "");
  EXPECT_FALSE(exists(pins)) << pins;
  // Stopped again (the device's program already gone): not an error.
  EXPECT_EQ(stop(unit, "va", ns.a(), "", &out), 0) << out;
}

// A bad file fails the start loudly, and nothing is left attached or pinned.
TEST(SystemdUnits, XdpUnitWithABadConfigAttachesNothing) {
  REQUIRE_ROOT_AND_TOOLS();
  Namespaces ns("p0su");
  Unit unit("p0fbpf-xdp@.service");
  const std::string pins = pin_directory(ns);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"an unknown key", "labl = \"Linux\"\n"},
      {"a bad signature", "signature = [\"4:64:0:*:mss*10,6:mss,bogus:df:0\"]\n"},
      {"a bad mode", "signature = [\"" + kSignature + "\"]\nmode = \"turbo\"\n"},
  };
  for (const auto& [what, text] : bad) {
    SCOPED_TRACE(what);
    std::ofstream(install().config("xdp-va.toml")) << text;
    std::string out;
    EXPECT_EQ(start(unit, "va", ns.a(), "", &out), 2) << out;
    EXPECT_NE(out.find("error"), std::string::npos) << out;
    EXPECT_EQ(xdp_program(ns), "");
    EXPECT_FALSE(exists(pins)) << pins;
  }
  // No file at all.
  std::remove(install().config("xdp-va.toml").c_str());
  std::string out;
  EXPECT_EQ(start(unit, "va", ns.a(), "", &out), 2) << out;
  EXPECT_NE(out.find("xdp-va.toml"), std::string::npos) << out;
  EXPECT_EQ(xdp_program(ns), "");
}

// The pin unit under each iptables backend.
class SystemdPinUnit : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Backends, SystemdPinUnit, ::testing::Values("legacy", "nft"),
                         [](const ::testing::TestParamInfo<std::string>& backend) { return backend.param; });

// A namespace of the test's own for iptables, and the unit's runtime
// directory, made before start and removed after stop as systemd does.
class PinNamespace {
 public:
  PinNamespace(const std::string& backend, const Unit& unit)
      : tools_(backend), name_("p0su-pin-" + backend + "-" + std::to_string(getpid())), instance_(name_) {
    int status = 0;
    run_shell("command -v iptables-" + backend + " && command -v ip6tables-" + backend, &status);
    usable_ = status == 0 && tools_.ok();
    if (!usable_) return;
    run_shell("ip netns add " + name_, &status);
    usable_ = status == 0;
    runtime_ = "/run/" + specified(unit.one("RuntimeDirectory"), instance_);
  }
  ~PinNamespace() {
    if (!usable_) return;
    run_shell("ip netns del " + name_);
    run_shell("rm -rf '" + runtime_ + "'");
  }
  bool usable() const { return usable_; }
  const std::string& name() const { return name_; }
  const std::string& instance() const { return instance_; }
  const std::string& runtime() const { return runtime_; }
  std::string env() const { return tools_.env(); }
  std::string rules() const {
    return run_shell("ip netns exec " + name_ + " " + tools_.env() + "iptables -S INPUT") +
           run_shell("ip netns exec " + name_ + " " + tools_.env() + "ip6tables -S INPUT");
  }
  void make_runtime() const { run_shell("rm -rf '" + runtime_ + "' && mkdir -m 0700 '" + runtime_ + "'"); }
  void remove_runtime() const { run_shell("rm -rf '" + runtime_ + "'"); }
  // The pin the generated script names.
  std::string pin() const {
    std::string script = read_file(runtime_ + "/rules.sh");
    auto dir = script.find("\npin_dir=");
    auto name = script.find("\npin=$pin_dir/");
    if (dir == std::string::npos || name == std::string::npos) return "";
    std::string directory = script.substr(dir + 9, script.find('\n', dir + 1) - dir - 9);
    if (directory.size() > 1 && directory.front() == '\'') directory = directory.substr(1, directory.size() - 2);
    return directory + "/" + script.substr(name + 14, script.find('\n', name + 1) - name - 14);
  }

 private:
  ScriptTools tools_;
  std::string name_, instance_, runtime_;
  bool usable_ = false;
};

// A signature of both IP versions that no other test pins, a different one
// per backend: the pin's name comes from the selection, pins live in the
// host's BPF file system, and the legacy and nft tests run side by side.
std::string unshared_signature(const std::string& backend, int scale) {
  return fmt::format("*:64:0:{}:mss*7,{}:mss,nop,ws:df:0", backend == "nft" ? 1235 : 1234, scale);
}

TEST_P(SystemdPinUnit, PinsAddsRulesAndRemovesOnlyItsOwn) {
  REQUIRE_ROOT_AND_TOOLS();
  Unit unit("p0fbpf-pin@.service");
  PinNamespace ns(GetParam(), unit);
  P0FBPF_REQUIRE(ns.usable(), "needs iptables-" + GetParam() + " and ip6tables-" + GetParam());
  for (const char* service : {"netfilter-persistent.service", "iptables.service", "ip6tables.service"}) {
    EXPECT_NE((" " + unit.one("Before") + " ").find(std::string(" ") + service + " "), std::string::npos) << service;
  }
  // A signature no other test pins, and a rule of the user's.
  std::ofstream(install().config("pin-" + ns.instance() + ".toml"))
      << "signature = [\"" << unshared_signature(GetParam(), 5) << "\"]\ntarget = \"DROP\"\n";
  std::string out;
  int status = 0;
  run_shell("ip netns exec " + ns.name() + " " + ns.env() + "iptables -A INPUT -p tcp --dport 22 -j ACCEPT", &status);
  ASSERT_EQ(status, 0);
  const std::string before = ns.rules();

  ns.make_runtime();
  ASSERT_EQ(start(unit, ns.instance(), ns.name(), ns.env(), &out), 0) << out;
  const std::string pin = ns.pin();
  ASSERT_NE(pin.find("/sys/fs/bpf/p0fbpf_"), std::string::npos) << pin;
  EXPECT_TRUE(exists(pin)) << pin;
  const std::string after = ns.rules();
  EXPECT_EQ(count(after, "-m bpf --object-pinned " + pin + " "), 2u) << after;
  EXPECT_EQ(count(after, "--dport 22 -j ACCEPT"), 1u) << after;

  // Started again with the rules in place (a boot whose saved rules were
  // restored, a start after a failed stop): nothing changes.
  ASSERT_EQ(start(unit, ns.instance(), ns.name(), ns.env(), &out), 0) << out;
  EXPECT_EQ(ns.rules(), after);
  EXPECT_TRUE(exists(pin));

  // A reboot: the pin is gone (a new BPF file system), the rules too.
  ASSERT_EQ(stop(unit, ns.instance(), ns.name(), ns.env(), &out), 0) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_FALSE(exists(pin)) << pin;
  ns.remove_runtime();
  ns.make_runtime();
  ASSERT_EQ(start(unit, ns.instance(), ns.name(), ns.env(), &out), 0) << out;
  EXPECT_EQ(ns.rules(), after);
  EXPECT_TRUE(exists(pin));

  // The file changes while the unit runs: stop runs the script start wrote,
  // so it removes the rules and the pin start made, not the new file's.
  std::ofstream(install().config("pin-" + ns.instance() + ".toml"))
      << "signature = [\"" << unshared_signature(GetParam(), 4) << "\"]\n";
  ASSERT_EQ(stop(unit, ns.instance(), ns.name(), ns.env(), &out), 0) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_FALSE(exists(pin)) << pin;
  ns.remove_runtime();
}

// A bad file fails the start; no rule is added and no pin is left.
TEST_P(SystemdPinUnit, BadConfigChangesNothing) {
  REQUIRE_ROOT_AND_TOOLS();
  Unit unit("p0fbpf-pin@.service");
  PinNamespace ns(GetParam(), unit);
  P0FBPF_REQUIRE(ns.usable(), "needs iptables-" + GetParam() + " and ip6tables-" + GetParam());
  const std::string before = ns.rules();
  std::string out;
  // Refused by p0fbpf: an unknown key, a bad signature.
  for (const char* text : {"labl = \"Linux\"\n", "signature = [\"4:64:0:*:mss*10,6:mss,bogus:df:0\"]\n"}) {
    std::ofstream(install().config("pin-" + ns.instance() + ".toml")) << text;
    ns.make_runtime();
    EXPECT_EQ(start(unit, ns.instance(), ns.name(), ns.env(), &out), 2) << out;
    EXPECT_NE(out.find("error"), std::string::npos) << out;
    EXPECT_EQ(ns.rules(), before);
    ns.remove_runtime();
  }
  // Refused by the script: a chain the namespace does not have. It checks
  // before it pins, so the pin it names is not made.
  std::ofstream(install().config("pin-" + ns.instance() + ".toml"))
      << "signature = [\"" << unshared_signature(GetParam(), 3) << "\"]\nchain = \"P0SU_NONE\"\n";
  ns.make_runtime();
  EXPECT_EQ(start(unit, ns.instance(), ns.name(), ns.env(), &out), 2) << out;
  EXPECT_NE(out.find("nothing was changed"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  const std::string pin = ns.pin();
  ASSERT_NE(pin, "");
  EXPECT_FALSE(exists(pin)) << pin;
  ns.remove_runtime();
}

}  // namespace
}  // namespace p0fbpf::testing
