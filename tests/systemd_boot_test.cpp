// The systemd units (src/dist/) under a real systemd as PID 1: a systemd
// booted by this test in namespaces of its own (PID, mount, network, UTS,
// IPC, cgroup), with udev for the device units, where `cmake --install
// --prefix /usr/local` put the units in systemd's own /usr/local/lib path.
// The guide's command lines (docs/guide.md, "Boot persistence") run there
// as written: systemctl enable --now, reload, restart, stop, with the
// files in /etc/p0fbpf, so that the units' sandboxing, capabilities,
// ordering and device binding are those of a real host. Everything the
// units change (the veths, the BPF file system, iptables' rules, /etc,
// /usr/local) is the namespaces', gone with them when the test kills that
// systemd. The guide's Ansible tasks ("Many hosts") run there too, as the
// guide writes them, with ansible-playbook -c local (ansible-core). Runs as
// root; skipped with a message outside CI.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "netns.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// What the namespaces' /usr/local, /etc and /var are: an overlay of the
// host's (written in a tmpfs, so the host's stay as they are: the units'
// PrivateTmp= directories in /var/tmp, systemd's state), with systemd's
// unit directory in /etc empty. systemd sees the units of
// SYSTEMD_UNIT_PATH only: /etc/systemd/system (systemctl enable writes
// there), /run/systemd/system, the installed units, and copies of the
// host's targets and slices without their .wants (a boot that starts no
// service of the host's), of journald (for journalctl -u) and of udev
// (the device units, sys-subsystem-net-devices-DEV.device, come from it:
// systemd listens to udev only where /dev is a devtmpfs or udev runs when
// it starts, so /dev is the host's, but for the console, which is the
// boot's log (what systemd says before journald runs, shown if it does not
// boot), and the kernel's log, which is /dev/null). No generator runs: the
// host's (fstab, getty, the packages') read the host's files, and their
// units would not be loaded anyway.
const char* const kBootScript = R"(set -e
mount --make-rprivate /
# Other tests' mounts (their netns files, BPF file systems under /tmp) are
# let go here, so that this copy of the table keeps none of them alive. One
# its test removed since the copy was made is gone already.
for mounted in $(findmnt -rn -o TARGET | grep -E '^/(run|sys|tmp)/' | sort -r); do
  umount -l "$mounted" 2>/dev/null || ! mountpoint -q "$mounted"
done
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind "$P0SD_LOG" /dev/console
mount --bind /dev/null /dev/kmsg
for dir in etc usr/local var; do
  mkdir -p "/run/p0sd/$dir.upper" "/run/p0sd/$dir.work"
  mount -t overlay overlay -o "lowerdir=/$dir,upperdir=/run/p0sd/$dir.upper,workdir=/run/p0sd/$dir.work" "/$dir"
done
mount -t tmpfs -o mode=755 tmpfs /etc/systemd/system
mkdir -p /etc/systemd/journald.conf.d /run/p0sd/units /run/p0sd/generators
printf '[Journal]\nStorage=volatile\n' > /etc/systemd/journald.conf.d/p0sd.conf
# One install at a time: the tests install the same build to the same prefix.
flock "$P0SD_BUILD/.p0sd-install.lock" cmake --install "$P0SD_BUILD" --prefix /usr/local > /run/p0sd/install.log
# Only now: the build may lie under /tmp (a clone there).
mount -t tmpfs tmpfs /tmp
cp /lib/systemd/system/*.target /lib/systemd/system/*.slice /lib/systemd/system/systemd-journald* \
  /lib/systemd/system/systemd-udevd* /run/p0sd/units/
printf '[Unit]\nWants=systemd-journald.service systemd-udevd.service\n' > /run/p0sd/units/p0sd.target
printf '[Unit]\nAfter=systemd-journald.service systemd-udevd.service\n' >> /run/p0sd/units/p0sd.target
exec env -i container=p0fbpf PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  SYSTEMD_UNIT_PATH=/etc/systemd/system:/run/systemd/system:/usr/local/lib/systemd/system:/run/p0sd/units \
  SYSTEMD_GENERATOR_PATH=/run/p0sd/generators SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/p0sd/generators \
  /lib/systemd/systemd --system --unit=p0sd.target
)";

// A systemd booted as PID 1 of namespaces of its own, in a cgroup of its
// own (the root of its cgroup namespace). The destructor kills it, and with
// it every process, device, mount and rule of its namespaces; unshare kills
// it too when this test dies (its parent-death signal, --kill-child).
class BootedSystemd {
 public:
  BootedSystemd() {
    cgroup_ = first_line(run_shell("findmnt -rn -t cgroup2 -o TARGET"));
    if (cgroup_.empty()) {
      error_ = "no cgroup2 file system mounted";
      return;
    }
    cgroup_ += "/p0sd-" + std::to_string(getpid());
    if (mkdir(cgroup_.c_str(), 0755) != 0) {
      error_ = "cannot make " + cgroup_;
      return;
    }
    script_ = temp_file("p0sd_boot_", "script.sh");
    log_ = temp_file("p0sd_boot_", "log");
    std::ofstream(script_) << kBootScript;
    unshare_ = fork();
    if (unshare_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::ofstream procs(cgroup_ + "/cgroup.procs");
      procs << getpid() << std::endl;
      if (!procs) _exit(126);  // systemd would make its cgroups inside the test's
      int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 1);
      dup2(log, 2);
      setenv("P0SD_BUILD", P0FBPF_BUILD_DIR, 1);
      setenv("P0SD_LOG", log_.c_str(), 1);  // systemd's console: what it says before journald runs
      execlp("unshare", "unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--uts", "--ipc", "--net",
             "--cgroup", "--mount-proc", "/bin/bash", script_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // systemd is unshare's child; it says "running" once p0sd.target is reached.
    // It boots in about a second; the bound is for a machine CI loads.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    std::string state;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(unshare_, nullptr, WNOHANG) == unshare_) {
        unshare_ = -1;  // and its child with it (--kill-child): no process of ours to kill
        pid_.clear();
        break;
      }
      if (pid_.empty()) {
        std::ifstream children("/proc/" + std::to_string(unshare_) + "/task/" + std::to_string(unshare_) +
                               "/children");
        children >> pid_;
      }
      if (!pid_.empty() && first_line(run_shell("cat /proc/" + pid_ + "/comm")) == "systemd") {
        state = first_line(run_shell("nsenter -t " + pid_ + " -a systemctl is-system-running"));
        if (state == "running" || state == "degraded") return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "systemd did not boot (state \"" + state + "\"):\n" + run_shell("cat '" + log_ + "'");
  }
  ~BootedSystemd() {
    // While unshare runs, its child (systemd) is alive or not yet reaped, so
    // its PID is no other process's.
    if (unshare_ > 0 && waitpid(unshare_, nullptr, WNOHANG) == 0) {
      if (!pid_.empty()) kill(std::stoi(pid_), SIGKILL);
      waitpid(unshare_, nullptr, 0);
    }
    // The cgroups systemd made, once their processes are gone.
    for (int tries = 0; tries < 100 && access(cgroup_.c_str(), F_OK) == 0; ++tries) {
      run_shell("find '" + cgroup_ + "' -depth -type d -exec rmdir {} +");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  BootedSystemd(const BootedSystemd&) = delete;
  BootedSystemd& operator=(const BootedSystemd&) = delete;

  // "" once booted, else what went wrong.
  const std::string& error() const { return error_; }
  const std::string& pid() const { return pid_; }
  // Runs a shell command in the namespaces; its output, and its status in `status`.
  std::string run(const std::string& command, int* status = nullptr) const {
    std::string file = temp_file("p0sd_command_", std::to_string(++commands_));
    std::ofstream(file) << command << "\n";
    return run_shell("timeout 120 nsenter -t " + pid_ + " -a /bin/sh < '" + file + "'", status);
  }
  // Writes a file of the namespaces' (their /etc, their /run), making its
  // directory as an operator would.
  void write(const std::string& path, const std::string& text) const {
    std::string at = "/proc/" + pid_ + "/root" + path;
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(at).parent_path(), error);
    std::ofstream out(at);
    out << text;
    out.close();
    if (error || !out) ADD_FAILURE() << "cannot write " << path;
  }
  bool exists(const std::string& path) const {
    struct stat st;
    return lstat(("/proc/" + pid_ + "/root" + path).c_str(), &st) == 0;
  }
  // A unit's property, as systemctl show -P prints it.
  std::string property(const std::string& unit, const std::string& name) const {
    return first_line(run("systemctl show -P " + name + " " + unit));
  }
  // Sends `count` Ethernet frames out of `device`, from a process in the namespaces' network.
  void send_frames(const std::string& device, int count) const {
    std::vector<std::uint8_t> frame(60, 0);
    for (int i = 0; i < 6; ++i) frame[i] = 0xff;
    frame[12] = 0x88;  // the local experimental EtherType 0x88b5
    frame[13] = 0xb5;
    std::string sent = in_network(pid_, [&] { return inject(std::vector(count, frame), device); });
    EXPECT_EQ(sent, std::to_string(count));
  }

 private:
  template <typename Work>
  static std::string in_network(const std::string& pid, Work work) {
    int fds[2];
    if (pipe(fds) != 0) return "pipe failed";
    pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      int nsfd = open(("/proc/" + pid + "/ns/net").c_str(), O_RDONLY);
      std::string result = nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0 ? work() : "setns failed";
      if (::write(fds[1], result.data(), result.size()) < 0) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    std::string out;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
    close(fds[0]);
    waitpid(child, nullptr, 0);
    return out;
  }

  std::string cgroup_, script_, log_, pid_, error_;
  pid_t unshare_ = -1;
  mutable int commands_ = 0;
};

#define REQUIRE_ROOT_AND_TOOLS()                                                                                  \
  do {                                                                                                            \
    int found = 0;                                                                                                \
    run_shell("command -v unshare && command -v nsenter && command -v findmnt && command -v ip && "               \
              "command -v cmake && command -v iptables && test -x /lib/systemd/systemd && "                       \
              "test -x /lib/systemd/systemd-udevd",                                                              \
              &found);                                                                                            \
    P0FBPF_REQUIRE(geteuid() == 0 && found == 0,                                                                  \
                   "needs root, util-linux, iproute2, cmake, iptables, systemd and udev (apt-get install udev)"); \
  } while (0)

// The veth pair p0sd0 (the unit's device) and p0sd1, up, with nothing sent
// from p0sd1 but the test's frames (no IPv6 there: no neighbour discovery).
// (Or another pair, `device` and `peer`.)
void add_veths(const BootedSystemd& systemd, const std::string& device = "p0sd0", const std::string& peer = "p0sd1") {
  int status = 0;
  std::string out = systemd.run("ip link add " + device + " type veth peer name " + peer + " && "
                                "sysctl -q -w net.ipv6.conf." + peer + ".disable_ipv6=1 && "
                                "ip link set " + device + " up && ip link set " + peer + " up && udevadm settle",
                                &status);
  ASSERT_EQ(status, 0) << out;
}

// p0sd0's (or `device`'s) XDP program, as ip prints it ("" when none).
std::string xdp_program(const BootedSystemd& systemd, const std::string& device = "p0sd0") {
  std::string link = systemd.run("ip -d link show " + device);
  auto at = link.find("prog/xdp");
  return at == std::string::npos ? "" : link.substr(at, link.find(" tag ", at) - at);
}

// The number after "KEY": in p0fbpf xdp stats --json (-1 if none).
long xdp_stat(const BootedSystemd& systemd, const std::string& key, const std::string& device = "p0sd0") {
  std::string json = systemd.run("p0fbpf xdp stats " + device + " --json");
  auto at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size() + 4));
}

// The unit's ActiveState once it is `state`, or what it is after 60 s of
// waiting for that.
std::string active_state_after(const BootedSystemd& systemd, const std::string& unit, const std::string& state) {
  std::string now = systemd.property(unit, "ActiveState");
  for (int i = 0; i < 1200 && now != state; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = systemd.property(unit, "ActiveState");
  }
  return now;
}

const std::string kXdpUnit = "p0fbpf-xdp@p0sd0.service";
// The guide's example file, for p0sd0.
const std::string kXdpConfig = "device = \"p0sd0\"\nlabel = \"Linux\"\ncount-only = true\nmode = \"native\"\n";

TEST(SystemdBoot, XdpUnitAsTheGuideRunsIt) {
  REQUIRE_ROOT_AND_TOOLS();
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  // No generator ran: nothing made from the host's fstab or packages.
  EXPECT_EQ(systemd.run("ls -A /run/systemd/generator /run/systemd/generator.late 2>/dev/null"), "");
  add_veths(systemd);
  systemd.write("/etc/p0fbpf/xdp-p0sd0.toml", kXdpConfig);
  int status = 0;
  std::string out = systemd.run("systemctl enable --now p0fbpf-xdp@p0sd0 2>&1", &status);
  ASSERT_EQ(status, 0) << out;
  // As the guide says: the device's unit has no file.
  EXPECT_NE(out.find("non-existent unit sys-subsystem-net-devices-p0sd0.device"), std::string::npos) << out;
  EXPECT_TRUE(systemd.exists("/etc/systemd/system/sys-subsystem-net-devices-p0sd0.device.wants/" + kXdpUnit)) << out;
  EXPECT_EQ(systemd.property(kXdpUnit, "ActiveState"), "active") << systemd.run("journalctl -u " + kXdpUnit);
  const std::string program = xdp_program(systemd);
  EXPECT_NE(program.find("name p0fbpf"), std::string::npos) << systemd.run("ip -d link show p0sd0");
  const std::string pins = first_line(systemd.run("ls -d /sys/fs/bpf/p0fbpf/*"));
  EXPECT_TRUE(systemd.exists(pins + "/program")) << pins;
  EXPECT_TRUE(systemd.exists(pins + "/counters")) << pins;
  EXPECT_NE(systemd.run("p0fbpf xdp stats p0sd0").find("count"), std::string::npos);

  // reload: an edited file applied in one swap, the counters kept.
  systemd.send_frames("p0sd1", 5);
  EXPECT_EQ(xdp_stat(systemd, "seen"), 5);
  systemd.write("/etc/p0fbpf/xdp-p0sd0.toml", "label = \"Windows\"\nmode = \"native\"\n");
  out = systemd.run("systemctl reload p0fbpf-xdp@p0sd0", &status);
  ASSERT_EQ(status, 0) << out;
  const std::string reloaded = xdp_program(systemd);
  EXPECT_NE(reloaded, program);
  EXPECT_NE(reloaded.find("name p0fbpf"), std::string::npos);
  EXPECT_NE(systemd.run("p0fbpf xdp stats p0sd0 --json").find("Windows"), std::string::npos);
  systemd.send_frames("p0sd1", 3);
  EXPECT_EQ(xdp_stat(systemd, "seen"), 8);

  // A bad file: the reload fails, in the journal, and the program stays.
  systemd.write("/etc/p0fbpf/xdp-p0sd0.toml", "signature = [\"4:64:0:*:mss*10,6:mss,bogus:df:0\"]\n");
  out = systemd.run("systemctl reload p0fbpf-xdp@p0sd0", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(systemd.property(kXdpUnit, "ActiveState"), "active");
  EXPECT_EQ(xdp_program(systemd), reloaded);
  EXPECT_NE(systemd.run("journalctl -u " + kXdpUnit).find("error"), std::string::npos);

  // stop: the program detached, its pins removed; the unit stays enabled.
  out = systemd.run("systemctl stop p0fbpf-xdp@p0sd0", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(systemd.property(kXdpUnit, "ActiveState"), "inactive");
  EXPECT_EQ(xdp_program(systemd), "");
  EXPECT_FALSE(systemd.exists(pins)) << pins;
  EXPECT_EQ(first_line(systemd.run("systemctl is-enabled p0fbpf-xdp@p0sd0")), "enabled");
}

// Enabled, the unit follows the device: gone, it stops (BindsTo=) and the
// pins go; back, it starts (WantedBy= the device) and attaches again.
TEST(SystemdBoot, XdpUnitFollowsTheDevice) {
  REQUIRE_ROOT_AND_TOOLS();
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  add_veths(systemd);
  systemd.write("/etc/p0fbpf/xdp-p0sd0.toml", kXdpConfig);
  int status = 0;
  std::string out = systemd.run("systemctl enable --now p0fbpf-xdp@p0sd0", &status);
  ASSERT_EQ(status, 0) << out;
  ASSERT_NE(xdp_program(systemd), "");
  out = systemd.run("ip link del p0sd0 && udevadm settle", &status);
  ASSERT_EQ(status, 0) << out;
  // The stop job runs once systemd has seen the device go.
  EXPECT_EQ(active_state_after(systemd, kXdpUnit, "inactive"), "inactive") << systemd.run("journalctl -u " + kXdpUnit);
  EXPECT_EQ(systemd.run("ls /sys/fs/bpf/p0fbpf 2>/dev/null"), "");

  add_veths(systemd);
  EXPECT_EQ(active_state_after(systemd, kXdpUnit, "active"), "active") << systemd.run("journalctl -u " + kXdpUnit);
  EXPECT_NE(xdp_program(systemd).find("name p0fbpf"), std::string::npos);
}

// A bad file fails the start (exit 2, said in the journal), and nothing is
// attached or pinned.
TEST(SystemdBoot, XdpUnitWithABadConfigAttachesNothing) {
  REQUIRE_ROOT_AND_TOOLS();
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  add_veths(systemd);
  systemd.write("/etc/p0fbpf/xdp-p0sd0.toml", "labl = \"Linux\"\n");
  int status = 0;
  std::string out = systemd.run("systemctl start p0fbpf-xdp@p0sd0", &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(systemd.property(kXdpUnit, "ActiveState"), "failed");
  EXPECT_EQ(systemd.property(kXdpUnit, "ExecMainStatus"), "2");
  EXPECT_NE(systemd.run("journalctl -u " + kXdpUnit).find("error"), std::string::npos);
  EXPECT_EQ(xdp_program(systemd), "");
  EXPECT_EQ(systemd.run("ls /sys/fs/bpf/p0fbpf 2>/dev/null"), "");
}

const std::string kPinUnit = "p0fbpf-pin@linux.service";

std::string rules(const BootedSystemd& systemd) { return systemd.run("iptables -S INPUT; ip6tables -S INPUT"); }

// The pins in the BPF file system's top directory, as ls lists them.
std::string pins(const BootedSystemd& systemd) { return systemd.run("ls /sys/fs/bpf | grep '^p0fbpf_'"); }

TEST(SystemdBoot, PinUnitAsTheGuideRunsIt) {
  REQUIRE_ROOT_AND_TOOLS();
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  int status = 0;
  // A rule of the user's, which the unit leaves alone.
  std::string out = systemd.run("iptables -A INPUT -p tcp --dport 22 -j ACCEPT", &status);
  ASSERT_EQ(status, 0) << out;
  const std::string before = rules(systemd);
  // The guide's file, with the database where --prefix /usr/local installed it.
  systemd.write("/etc/p0fbpf/pin-linux.toml",
                "label = \"Linux\"\nfp-file = \"/usr/local/share/p0fbpf/p0fbpf.fp\"\ntarget = \"DROP\"\n");
  out = systemd.run("systemctl enable --now p0fbpf-pin@linux", &status);
  ASSERT_EQ(status, 0) << out << systemd.run("journalctl -u " + kPinUnit);
  EXPECT_TRUE(systemd.exists("/etc/systemd/system/multi-user.target.wants/" + kPinUnit)) << out;
  EXPECT_EQ(systemd.property(kPinUnit, "ActiveState"), "active");
  const std::string pin = first_line(pins(systemd));
  ASSERT_NE(pin, "");
  const std::string after = rules(systemd);
  // One rule per IP version, both running the pin.
  EXPECT_EQ(count(after, "-m bpf --object-pinned /sys/fs/bpf/" + pin + " "), 2u) << after;
  EXPECT_EQ(count(after, "--object-pinned"), 2u) << after;
  EXPECT_NE(after.find("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT"), std::string::npos) << after;
  EXPECT_TRUE(systemd.exists("/run/p0fbpf-pin-linux/rules.sh"));

  // restart applies an edited file: the old pin and rules go, the new come.
  systemd.write("/etc/p0fbpf/pin-linux.toml", "label = \"Windows\"\ntarget = \"DROP\"\n");
  out = systemd.run("systemctl restart p0fbpf-pin@linux", &status);
  ASSERT_EQ(status, 0) << out << systemd.run("journalctl -u " + kPinUnit);
  const std::string edited = first_line(pins(systemd));
  EXPECT_NE(edited, pin);
  EXPECT_EQ(pins(systemd), edited + "\n");
  EXPECT_NE(rules(systemd).find("--object-pinned /sys/fs/bpf/" + edited + " "), std::string::npos);
  EXPECT_EQ(rules(systemd).find("--object-pinned /sys/fs/bpf/" + pin + " "), std::string::npos);

  // stop removes exactly its own rules and pin, and its runtime directory.
  out = systemd.run("systemctl stop p0fbpf-pin@linux", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(systemd.property(kPinUnit, "ActiveState"), "inactive");
  EXPECT_EQ(rules(systemd), before);
  EXPECT_EQ(pins(systemd), "");
  EXPECT_FALSE(systemd.exists("/run/p0fbpf-pin-linux"));
}

TEST(SystemdBoot, PinUnitWithABadConfigChangesNothing) {
  REQUIRE_ROOT_AND_TOOLS();
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  const std::string before = rules(systemd);
  for (const char* text : {"labl = \"Linux\"\n", "label = \"Linux\"\nchain = \"P0SD_NONE\"\n"}) {
    SCOPED_TRACE(text);
    systemd.write("/etc/p0fbpf/pin-linux.toml", text);
    int status = 0;
    std::string out = systemd.run("systemctl start p0fbpf-pin@linux", &status);
    EXPECT_NE(status, 0) << out;
    EXPECT_EQ(systemd.property(kPinUnit, "ActiveState"), "failed");
    EXPECT_EQ(systemd.property(kPinUnit, "ExecMainStatus"), "2");
    EXPECT_NE(systemd.run("journalctl -u " + kPinUnit).find("error"), std::string::npos);
    EXPECT_EQ(rules(systemd), before);
    EXPECT_EQ(pins(systemd), "");
    EXPECT_FALSE(systemd.exists("/run/p0fbpf-pin-linux"));
    systemd.run("systemctl reset-failed p0fbpf-pin@linux");
  }
}

// The guide's Ansible example ("Many hosts"), as written: the indented
// block after the line that ends "In Ansible:", unindented, cut at its line
// "# handlers:" into the tasks and the handlers (that line and after), so
// that the two together are the guide's text byte for byte. Empty when the
// guide has no such block.
struct AnsibleExample {
  std::string tasks, handlers;
};

const std::string kGuide = std::string(P0FBPF_TEST_DATA) + "/../docs/guide.md";

AnsibleExample guide_ansible_example() {
  std::ifstream in(kGuide);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::size_t i = 0;
  while (i < lines.size() && !lines[i].starts_with("**Many hosts.**")) ++i;
  while (i < lines.size() && !lines[i].ends_with("In Ansible:")) ++i;
  for (++i; i < lines.size() && lines[i].empty(); ++i) {
  }
  AnsibleExample example;
  std::string* part = &example.tasks;
  for (; i < lines.size() && (lines[i].empty() || lines[i].starts_with("    ")); ++i) {
    std::string line = lines[i].empty() ? "" : lines[i].substr(4);
    if (line == "# handlers:") part = &example.handlers;
    *part += line + "\n";
  }
  while (part->ends_with("\n\n")) part->pop_back();
  return example;
}

// Replaces every `from` in `text` with `to`; how many there were.
std::size_t replace_all(std::string& text, const std::string& from, const std::string& to) {
  std::size_t n = 0;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()), ++n) {
    text.replace(at, from.size(), to);
  }
  return n;
}

#define REQUIRE_ANSIBLE()                                                                \
  do {                                                                                   \
    int found = 0;                                                                       \
    run_shell("command -v ansible-playbook && test -x /usr/bin/python3", &found);        \
    P0FBPF_REQUIRE(found == 0, "needs ansible-playbook (apt-get install ansible-core)"); \
  } while (0)

// A playbook in the namespaces' /tmp/p0sa (their tmpfs) for localhost whose
// one role, p0fbpf, has `tasks` and `handlers` as they are, and the file
// `name` in its files/ (where the copy task's `src:` finds it).
void write_playbook(const BootedSystemd& systemd, const std::string& tasks, const std::string& handlers,
                    const std::string& name, const std::string& file) {
  int status = 0;
  std::string out = systemd.run("mkdir -p /tmp/p0sa/roles/p0fbpf/tasks /tmp/p0sa/roles/p0fbpf/handlers "
                                "/tmp/p0sa/roles/p0fbpf/files",
                                &status);
  ASSERT_EQ(status, 0) << out;
  systemd.write("/tmp/p0sa/site.yml", "- hosts: all\n  gather_facts: false\n  roles:\n    - p0fbpf\n");
  systemd.write("/tmp/p0sa/roles/p0fbpf/tasks/main.yml", tasks);
  systemd.write("/tmp/p0sa/roles/p0fbpf/handlers/main.yml", handlers);
  systemd.write("/tmp/p0sa/roles/p0fbpf/files/" + name, file);
}

// ansible-playbook run on that playbook in the namespaces, as root there
// runs it (`-c local`: its systemd module runs systemctl, which talks to
// their systemd), with none of the test's environment and its temporary
// files in their /tmp (its default remote_tmp, ~root/.ansible/tmp, would be
// in the host's /root); its output, and its status in `status`.
std::string run_playbook(const BootedSystemd& systemd, int* status) {
  return systemd.run("cd /tmp/p0sa && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "
                     "HOME=/tmp/p0sa LANG=C.UTF-8 ANSIBLE_LOCAL_TEMP=/tmp/p0sa/tmp ANSIBLE_REMOTE_TEMP=/tmp/p0sa/tmp "
                     "ansible-playbook -i localhost, -c local -e ansible_python_interpreter=/usr/bin/python3 site.yml",
                     status);
}

// The count `key` (ok, changed, failed...) in the play recap's line for localhost (-1 if none).
long recap(const std::string& out, const std::string& key) {
  auto at = out.find("PLAY RECAP");
  if (at != std::string::npos) at = out.find("localhost", at);
  if (at != std::string::npos) at = out.find(" " + key + "=", at);
  return at == std::string::npos ? -1 : std::stol(out.substr(at + key.size() + 2));
}

// The guide's tasks and handler as written, run three times, as
// configuration management runs them: once on a host without the unit,
// once more on the host made right (nothing changes), once with an edited
// file (the handler's reload applies it).
TEST(SystemdBoot, GuidesAnsiblePlaybookConverges) {
  REQUIRE_ROOT_AND_TOOLS();
  REQUIRE_ANSIBLE();
  const AnsibleExample example = guide_ansible_example();
  ASSERT_NE(example.tasks, "") << kGuide << ": no Ansible block after \"In Ansible:\" in \"Many hosts\"";
  ASSERT_NE(example.handlers, "") << kGuide << ": the Ansible block has no line \"# handlers:\"";
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  // The guide's device: eth0 of the namespaces' own network.
  add_veths(systemd, "eth0", "p0sa1");
  const std::string config = "device = \"eth0\"\nlabel = \"Linux\"\ncount-only = true\nmode = \"native\"\n";
  write_playbook(systemd, example.tasks, example.handlers, "xdp-eth0.toml", config);
  const std::string unit = "p0fbpf-xdp@eth0.service";

  // The first run makes /etc/p0fbpf (the install does not), copies the
  // file, enables and starts the unit, and the copy's handler reloads it:
  // the same selection, which changes nothing.
  ASSERT_FALSE(systemd.exists("/etc/p0fbpf"));
  int status = 0;
  std::string out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "failed"), 0) << out;
  EXPECT_EQ(recap(out, "changed"), 4) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 1u) << out;
  EXPECT_EQ(systemd.run("cat /etc/p0fbpf/xdp-eth0.toml"), config);
  EXPECT_EQ(systemd.property(unit, "ActiveState"), "active") << systemd.run("journalctl -u " + unit);
  EXPECT_TRUE(systemd.exists("/etc/systemd/system/sys-subsystem-net-devices-eth0.device.wants/" + unit));
  const std::string program = xdp_program(systemd, "eth0");
  EXPECT_NE(program.find("name p0fbpf"), std::string::npos) << systemd.run("ip -d link show eth0");
  const std::string pins = first_line(systemd.run("ls -d /sys/fs/bpf/p0fbpf/*"));
  EXPECT_TRUE(systemd.exists(pins + "/program")) << pins;
  std::string journal = systemd.run("journalctl -u " + unit);
  EXPECT_EQ(count(journal, "p0fbpf: attached XDP program"), 1u) << journal;
  EXPECT_EQ(count(journal, "nothing changed"), 1u) << journal;

  // Converged: the second run changes nothing, runs no handler, and the program stays.
  out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "failed"), 0) << out;
  EXPECT_EQ(recap(out, "ok"), 3) << out;
  EXPECT_EQ(recap(out, "changed"), 0) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 0u) << out;
  EXPECT_EQ(xdp_program(systemd, "eth0"), program);
  journal = systemd.run("journalctl -u " + unit);
  EXPECT_EQ(count(journal, "p0fbpf: attached XDP program"), 1u) << journal;
  EXPECT_EQ(count(journal, "nothing changed"), 1u) << journal;

  // An edited file: the copy notifies the handler, whose reload swaps the
  // program once, the counters kept.
  systemd.send_frames("p0sa1", 5);
  EXPECT_EQ(xdp_stat(systemd, "seen", "eth0"), 5);
  const std::string edited = "label = \"Windows\"\nmode = \"native\"\n";
  systemd.write("/tmp/p0sa/roles/p0fbpf/files/xdp-eth0.toml", edited);
  out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "failed"), 0) << out;
  EXPECT_EQ(recap(out, "changed"), 2) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 1u) << out;
  EXPECT_EQ(systemd.run("cat /etc/p0fbpf/xdp-eth0.toml"), edited);
  const std::string reloaded = xdp_program(systemd, "eth0");
  EXPECT_NE(reloaded, program);
  EXPECT_NE(reloaded.find("name p0fbpf"), std::string::npos);
  journal = systemd.run("journalctl -u " + unit);
  EXPECT_EQ(count(journal, "p0fbpf: attached XDP program"), 2u) << journal;
  EXPECT_EQ(count(journal, ", replacing program "), 1u) << journal;
  EXPECT_NE(systemd.run("p0fbpf xdp stats eth0 --json").find("Windows"), std::string::npos);
  systemd.send_frames("p0sa1", 3);
  EXPECT_EQ(xdp_stat(systemd, "seen", "eth0"), 8);
  EXPECT_EQ(systemd.property(unit, "ActiveState"), "active");
}

// "For the pin unit the handler restarts instead (`state: restarted`)": the
// guide's tasks and handler for p0fbpf-pin@linux, run as above.
TEST(SystemdBoot, GuidesAnsiblePlaybookConvergesForThePinUnit) {
  REQUIRE_ROOT_AND_TOOLS();
  REQUIRE_ANSIBLE();
  const AnsibleExample example = guide_ansible_example();
  ASSERT_NE(example.tasks, "") << kGuide << ": no Ansible block after \"In Ansible:\" in \"Many hosts\"";
  std::ifstream in(kGuide);
  const std::string guide{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_NE(guide.find("For the pin unit the handler restarts instead (`state: restarted`)."), std::string::npos);
  std::string tasks = example.tasks, handlers = example.handlers;
  for (std::string* text : {&tasks, &handlers}) {
    replace_all(*text, "xdp-eth0.toml", "pin-linux.toml");
    replace_all(*text, "p0fbpf-xdp@eth0", "p0fbpf-pin@linux");
  }
  ASSERT_EQ(replace_all(handlers, "state: reloaded", "state: restarted"), 1u) << handlers;
  ASSERT_EQ((tasks + handlers).find("p0fbpf-xdp"), std::string::npos) << tasks << handlers;
  BootedSystemd systemd;
  ASSERT_EQ(systemd.error(), "");
  const std::string before = rules(systemd);
  const std::string config =
      "label = \"Linux\"\nfp-file = \"/usr/local/share/p0fbpf/p0fbpf.fp\"\ntarget = \"DROP\"\n";
  write_playbook(systemd, tasks, handlers, "pin-linux.toml", config);

  // The first run: the directory, the file, the unit enabled and started,
  // and the handler's restart.
  ASSERT_FALSE(systemd.exists("/etc/p0fbpf"));
  int status = 0;
  std::string out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "failed"), 0) << out;
  EXPECT_EQ(recap(out, "changed"), 4) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 1u) << out;
  EXPECT_EQ(systemd.property(kPinUnit, "ActiveState"), "active") << systemd.run("journalctl -u " + kPinUnit);
  EXPECT_TRUE(systemd.exists("/etc/systemd/system/multi-user.target.wants/" + kPinUnit));
  const std::string pin = first_line(pins(systemd));
  ASSERT_NE(pin, "");
  EXPECT_EQ(pins(systemd), pin + "\n");
  const std::string after = rules(systemd);
  EXPECT_EQ(count(after, "-m bpf --object-pinned /sys/fs/bpf/" + pin + " "), 2u) << after;

  // Converged: nothing changes.
  out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "changed"), 0) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 0u) << out;
  EXPECT_EQ(pins(systemd), pin + "\n");
  EXPECT_EQ(rules(systemd), after);

  // An edited file: the handler's restart puts the new pin and rules in the old ones' place.
  systemd.write("/tmp/p0sa/roles/p0fbpf/files/pin-linux.toml", "label = \"Windows\"\ntarget = \"DROP\"\n");
  out = run_playbook(systemd, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(recap(out, "changed"), 2) << out;
  EXPECT_EQ(count(out, "RUNNING HANDLER"), 1u) << out;
  const std::string edited = first_line(pins(systemd));
  EXPECT_NE(edited, pin);
  EXPECT_EQ(pins(systemd), edited + "\n");
  const std::string edited_rules = rules(systemd);
  EXPECT_EQ(count(edited_rules, "-m bpf --object-pinned /sys/fs/bpf/" + edited + " "), 2u) << edited_rules;
  EXPECT_EQ(count(edited_rules, "--object-pinned"), 2u) << edited_rules;
  EXPECT_NE(before, edited_rules);
}

}  // namespace
}  // namespace p0fbpf::testing
