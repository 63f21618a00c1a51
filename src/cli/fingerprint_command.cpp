#include <charconv>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/capture.hpp"
#include "p0fbpf/fingerprint.hpp"
#include "p0fbpf/labeller.hpp"

namespace p0fbpf::cli {

void FingerprintCommand::add_to(CLI::App& app) {
  read_option = app.add_option("-r,--read", input, "the capture to fingerprint (pcap or pcapng); - reads it from "
                                                   "standard input")->type_name("FILE");
  live.add_to(app, true);
  app.add_flag("--response", response,
               "fingerprint SYN+ACKs instead of SYNs (without p0f's peer-MSS window rule, "
               "which needs the SYN of the same connection)");
  database.add_file_to(app, "name each signature with the label p0f gives it from this database (p0f.fp format; "
                           "default p0fbpf's own, installed in share/p0fbpf/p0fbpf.fp; -F /etc/p0f/p0f.fp for p0f's): "
                           "p0f's exact match, else a generic (g:) one, else a fuzzy one, marked as p0f marks them; "
                           "??? for none");
  app.add_option("--top", top, "show only the N most frequent signatures")->type_name("N");
  app.add_flag("--json", json, "print JSON for scripts");
}

int FingerprintCommand::run() const {
  if (!live.check("fingerprint", read_option && read_option->count() > 0)) return kExitError;
  Direction direction = response ? Direction::Response : Direction::Request;
  // Read before the capture, so that a bad database costs no capturing.
  std::optional<std::string> database_path = database.path();
  if (!database_path) return kExitError;
  std::optional<Database> labels = load_database(*database_path);
  if (!labels) return kExitError;
  const Labeller labeller(*labels, direction);
  auto opened = live.given() ? live.open(direction) : open_capture(input);
  if (!opened) return kExitError;
  Capture& in = *opened->capture;
  const LinkType link = opened->link.type;
  KeptRecords kept;
  if (!kept.open(live.write ? &*live.write : nullptr, in)) return kExitError;
  SignatureCounter counter(in);
  std::size_t fingerprinted = 0;
  std::optional<RecordsRead> read = read_records(in, "fingerprinting", "read", [&](const CaptureRecord& record) {
    if (kept.writing() && !kept.write(record)) in.stop();
    if (auto facts = fingerprint_facts(link, record.data, record.length(), direction)) {
      counter.add(*facts);
      ++fingerprinted;
    }
  });
  if (!read) return kExitError;
  if (!kept.close()) return kExitError;
  std::size_t total = read->records;
  std::size_t distinct = counter.distinct();
  std::vector<std::uint32_t> order = counter.most_frequent(top);
  // Written in pieces: a flood can have tens of thousands of lines.
  constexpr std::size_t kPiece = 1 << 16;
  std::string out;
  out.reserve(kPiece + 1024);
  auto written = [&]() {
    bool ok = out.size() < kPiece || write_stdout(out);
    if (out.size() >= kPiece) out.clear();
    return ok;
  };
  if (json) {
    fmt::format_to(std::back_inserter(out), "{{\"packets\": {}, \"{}\": {}, \"distinct\": {}{}, \"signatures\": [",
                   total, response ? "syn_acks" : "syns", fingerprinted, distinct, json_capture_stats(in, *read));
  }
  char count[24];
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (i + kAhead < order.size()) counter.prefetch(order[i + kAhead]);
    auto end = std::to_chars(count, count + sizeof count, counter.count(order[i])).ptr;
    std::optional<LabelMatch> match = labeller.match(counter.fields(order[i]), counter.first_window(order[i]));
    if (json) {
      // Signatures hold no character that JSON would need escaped.
      out.append(i ? ",\n  {\"count\": " : "\n  {\"count\": ").append(count, end).append(", \"signature\": \"");
      counter.append_signature(order[i], out);
      out.append("\", \"label\": ").append(match ? json_string(match->name) : "\"???\"");
      out.append(", \"fuzzy\": ").append(match && match->fuzzy ? "true" : "false");
      out.append(", \"database_label\": ").append(match ? json_string(match->label->text) : "null");
      out += "}";
    } else {
      auto width = static_cast<std::size_t>(end - count);
      if (width < 8) out.append(8 - width, ' ');
      out.append(count, end).append(2, ' ');
      counter.append_signature(order[i], out);
      out.append(2, ' ');
      if (!match) {
        out += "???";
      } else {
        // The database may come from a stranger: nothing raw to a terminal.
        out += printable(match->name);
        if (std::string flags = match_flags(*match); !flags.empty()) out.append(" (").append(flags).append(")");
      }
      out += '\n';
    }
    if (!written()) return kExitError;
  }
  if (json) out += order.empty() ? "]}\n" : "\n]}\n";
  if (!write_stdout(out)) return kExitError;
  if (Progress::on_terminal()) {
    fmt::print(stderr, "{} {} in {} packets, {} distinct signatures\n", fingerprinted,
               response ? "SYN+ACKs" : "SYNs", total, distinct);
  }
  return read->failed ? kExitError : kExitOk;
}

}  // namespace p0fbpf::cli
