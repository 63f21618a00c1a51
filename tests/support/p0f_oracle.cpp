#include "p0f_oracle.hpp"

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <re2/re2.h>

namespace p0fbpf::testing {
namespace {

constexpr std::uint16_t kServerPort = 80;
constexpr std::uint16_t kFirstClientPort = 1024;

std::array<std::uint8_t, 16> client_address(std::size_t index, bool ipv6) {
  std::array<std::uint8_t, 16> a{};
  if (ipv6) {
    a = {0x20, 0x01, 0x0d, 0xb8};
    a[13] = static_cast<std::uint8_t>(index >> 16);
    a[14] = static_cast<std::uint8_t>(index >> 8);
    a[15] = static_cast<std::uint8_t>(index);
  } else {
    a[0] = 10;
    a[1] = static_cast<std::uint8_t>(index >> 16);
    a[2] = static_cast<std::uint8_t>(index >> 8);
    a[3] = static_cast<std::uint8_t>(index);
  }
  return a;
}

std::array<std::uint8_t, 16> server_address(bool ipv6) {
  std::array<std::uint8_t, 16> a{};
  if (ipv6) a = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  else a = {192, 0, 2, 1};
  return a;
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/p0fbpf-oracle-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_pcap(const std::filesystem::path& file, const std::vector<std::vector<std::uint8_t>>& frames,
                int datalink) {
  pcap_t* dead = pcap_open_dead(datalink, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, file.c_str());
  if (!dumper) throw std::runtime_error(pcap_geterr(dead));
  for (std::size_t i = 0; i < frames.size(); ++i) {
    pcap_pkthdr header{};
    header.ts.tv_sec = 1700000000 + static_cast<long>(i / 1000);
    header.ts.tv_usec = static_cast<long>(i % 1000) * 1000;
    header.caplen = static_cast<bpf_u_int32>(frames[i].size());
    header.len = header.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frames[i].data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

}  // namespace

std::optional<std::string> find_p0f() {
  for (const char* path : {"/usr/sbin/p0f", "/usr/bin/p0f"}) {
    if (access(path, X_OK) == 0) return std::string(path);
  }
  return std::nullopt;
}

void assign_flow(PacketSpec& spec, std::size_t index, bool response) {
  auto client = client_address(index, spec.ipv6);
  auto server = server_address(spec.ipv6);
  auto client_port = static_cast<std::uint16_t>(kFirstClientPort + index);
  if (response) {
    spec.source = server;
    spec.destination = client;
    spec.source_port = kServerPort;
    spec.destination_port = client_port;
  } else {
    spec.source = client;
    spec.destination = server;
    spec.source_port = client_port;
    spec.destination_port = kServerPort;
  }
}

namespace {

// Writes the packets as run_p0f describes, runs p0f over them with the
// database `write_database` writes into the file it is given, and reads its
// verdicts.
template <typename WriteDatabase>
std::vector<OracleVerdict> run_p0f_on(const std::string& p0f, std::vector<PacketSpec> packets, bool response,
                                      bool raw_ip, const std::string& keep, WriteDatabase write_database) {
  auto frame = [&](const PacketSpec& spec) {
    auto packet = build_packet(spec);
    return raw_ip ? packet : ethernet_frame(packet, spec.ipv6);
  };
  if (packets.size() > 60000) throw std::invalid_argument("too many packets for one p0f run");
  TempDir dir;
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    PacketSpec& spec = packets[i];
    assign_flow(spec, i, response);
    if (response) {
      // The SYN that opens the flow, without options.
      PacketSpec syn;
      syn.ipv6 = spec.ipv6;
      assign_flow(syn, i, false);
      syn.ip_id = 1;
      syn.window = 1024;
      frames.push_back(frame(syn));
    }
    frames.push_back(frame(spec));
  }
  auto pcap_file = dir.path() / "in.pcap";
  auto db_file = dir.path() / "test.fp";
  auto out_file = dir.path() / "out.txt";
  write_pcap(pcap_file, frames, raw_ip ? DLT_RAW : DLT_EN10MB);
  if (!keep.empty()) std::filesystem::copy_file(pcap_file, keep, std::filesystem::copy_options::overwrite_existing);
  std::string database = write_database(db_file);
  std::string command = p0f + " -r " + pcap_file.string() + " -f " + database + " > " +
                        out_file.string() + " 2>&1";
  int status = std::system(command.c_str());
  std::ifstream out(out_file);
  std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  if (status != 0) throw std::runtime_error("p0f failed: " + text.substr(0, 2000));

  std::vector<OracleVerdict> verdicts(packets.size());
  static const RE2 header(R"(^\.-\[ \S+/(\d+) -> \S+/\d+ \(([^)]*)\) \]-)");
  std::istringstream lines(text);
  std::string line;
  OracleVerdict* current = nullptr;
  auto finish = [&] {
    if (current) current->matched = current->label == "T 1" && !current->fuzzy;
    current = nullptr;
  };
  while (std::getline(lines, line)) {
    long port = 0;
    std::string type;
    if (RE2::PartialMatch(line, header, &port, &type)) {
      finish();
      bool wanted = response ? (type == "syn+ack" || type == "sendsyn response")
                             : (type == "syn" || type == "sendsyn probe");
      if (!wanted) continue;
      long index = port - kFirstClientPort;
      if (index < 0 || static_cast<std::size_t>(index) >= verdicts.size()) continue;
      current = &verdicts[static_cast<std::size_t>(index)];
      current->fingerprinted = true;
      continue;
    }
    if (!current) continue;
    if (line.rfind("| os ", 0) == 0 || line.rfind("| app ", 0) == 0) {
      current->label = line.substr(line.find("= ") + 2);
    } else if (line.rfind("| params ", 0) == 0) {
      current->fuzzy = line.find("fuzzy") != std::string::npos;
    } else if (line.rfind("| raw_sig ", 0) == 0) {
      current->raw_sig = line.substr(line.find("= ") + 2);
    } else if (line.rfind("`----", 0) == 0) {
      finish();
    }
  }
  finish();
  return verdicts;
}

}  // namespace

std::vector<OracleVerdict> run_p0f(const std::string& p0f, std::vector<PacketSpec> packets,
                                   const std::string& signature, bool response, bool raw_ip,
                                   const std::string& keep) {
  return run_p0f_on(p0f, std::move(packets), response, raw_ip, keep, [&](const std::filesystem::path& file) {
    std::ofstream db(file);
    db << "classes = win,unix,other\n\n" << (response ? "[tcp:response]\n" : "[tcp:request]\n");
    if (!signature.empty()) db << "\nlabel = s:unix:T:1\nsig   = " << signature << "\n";
    return file.string();
  });
}

std::vector<OracleVerdict> run_p0f_with_database(const std::string& p0f, std::vector<PacketSpec> packets,
                                                 const std::string& database, bool response) {
  return run_p0f_on(p0f, std::move(packets), response, false, "",
                    [&](const std::filesystem::path&) { return database; });
}

}  // namespace p0fbpf::testing
