#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/capture.hpp"
#include "p0fbpf/fingerprint.hpp"

namespace p0fbpf::cli {

void FingerprintCommand::add_to(CLI::App& app) {
  app.add_option("-r,--read", input, "the capture to fingerprint (pcap or pcapng)")->required()->type_name("FILE");
  app.add_flag("--response", response,
               "fingerprint SYN+ACKs instead of SYNs (without p0f's peer-MSS window rule, "
               "which needs the SYN of the same connection)");
  app.add_option("--top", top, "show only the N most frequent signatures")->type_name("N");
  app.add_flag("--json", json, "print JSON for scripts");
}

int FingerprintCommand::run() const {
  auto capture = Capture::open(input);
  if (!capture) {
    fmt::print(stderr, "p0fbpf: error: {}\n", capture.error().message);
    return kExitError;
  }
  Capture& in = **capture;
  std::optional<LinkLayer> link = link_for_capture(in.datalink());
  if (!link) {
    fmt::print(stderr,
               "p0fbpf: error: {}: link type {} is not supported\n"
               "  help: p0fbpf reads Ethernet, raw IP, Linux cooked (SLL) and BSD loopback captures\n",
               input, in.datalink_name());
    return kExitError;
  }
  Direction direction = response ? Direction::Response : Direction::Request;
  SignatureCounter counter;
  std::size_t fingerprinted = 0;
  std::size_t seen = 0;
  std::string problem;
  std::size_t total;
  {
    Progress progress("fingerprinting");
    total = in.for_each(
        [&](const CaptureRecord& record) {
          if (auto sig = fingerprint_frame(link->type, record.data, record.length(), direction)) {
            counter.add(*sig);
            ++fingerprinted;
          }
          progress.tick(++seen);
        },
        problem);
  }
  if (!problem.empty()) {
    fmt::print(stderr, "p0fbpf: warning: {}; the {} records before it were read\n", problem, total);
  }
  auto entries = counter.most_frequent(top);
  std::string out;
  if (json) {
    out += fmt::format("{{\"packets\": {}, \"{}\": {}, \"distinct\": {}, \"signatures\": [", total,
                       response ? "syn_acks" : "syns", fingerprinted, counter.distinct());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      // Signatures hold no character that JSON would need escaped.
      out += fmt::format("{}\n  {{\"count\": {}, \"signature\": \"{}\"}}", i ? "," : "", entries[i].count,
                         entries[i].signature);
    }
    out += entries.empty() ? "]}\n" : "\n]}\n";
  } else {
    for (const auto& e : entries) out += fmt::format("{:>8}  {}\n", e.count, e.signature);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (Progress::on_terminal()) {
    fmt::print(stderr, "{} {} in {} packets, {} distinct signatures\n", fingerprinted,
               response ? "SYN+ACKs" : "SYNs", total, counter.distinct());
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitError;
}

}  // namespace p0fbpf::cli
