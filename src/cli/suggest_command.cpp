
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/fingerprint.hpp"
#include "p0fbpf/overlap.hpp"
#include "p0fbpf/parser.hpp"
#include "p0fbpf/script.hpp"
#include "p0fbpf/suggest.hpp"

namespace p0fbpf::cli {
namespace {

// Adds the SYNs (SYN+ACKs) of a capture to `sample`, keeping its records
// if `keep` names a file; nullopt after an error (a live capture that
// failed says so in the result: print the suggestion, then exit 2).
std::optional<RecordsRead> read_syns(const std::optional<OpenCapture>& opened, Direction direction, SynSample& sample,
                                     const std::string* keep = nullptr) {
  if (!opened) return std::nullopt;
  Capture& in = *opened->capture;
  const LinkType link = opened->link.type;
  KeptRecords kept;
  if (!kept.open(keep, in)) return std::nullopt;
  std::size_t before = sample.total();
  auto read = read_records(in, "reading", "read", [&](const CaptureRecord& record) {
    if (kept.writing() && !kept.write(record)) in.stop();
    if (auto facts = fingerprint_facts(link, record.data, record.length(), direction)) sample.add(*facts);
  });
  if (!read || !kept.close()) return std::nullopt;
  if (sample.total() == before) {
    fmt::print(stderr, "p0fbpf: error: {} has no {} ({} packets {})\n  help: {}\n", printable(in.name()),
               direction == Direction::Request ? "SYNs" : "SYN+ACKs", read->records,
               in.live() ? "captured" : "read",
               direction == Direction::Request ? "--response reads SYN+ACKs" : "without --response, SYNs are read");
    return std::nullopt;
  }
  return read;
}

// The labels of the database's signatures (of the direction) that share a
// packet with the signature, each once, in the database's order.
std::vector<std::string> also_matched(const Signature& suggested, const SelectedLabels& known) {
  std::vector<std::string> labels;
  for (const DatabaseLabel* label : known.labels) {
    for (const SignatureSource& source : label->signatures) {
      auto theirs = parse_signature(source.text);
      if (theirs && shared_packet(suggested, *theirs)) {
        labels.push_back(label->text);
        break;
      }
    }
  }
  return labels;
}

double percent(std::size_t part, std::size_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

struct Row {
  const SuggestedSignature* signature;
  std::size_t instructions;
  std::vector<std::string> also;
};

// `packets`: what was read, SYNs or SYN+ACKs.
std::string table(const Suggestion& s, const std::vector<Row>& rows, std::string_view packets) {
  std::size_t width = std::string_view("signature").size();
  for (const Row& row : rows) width = std::max(width, row.signature->text.size());
  std::string out = fmt::format("{:<{}}  {:>17}  {:>13}  {:>5}\n", "signature", width, fmt::format("attack {}", packets),
                                "baseline hits", "insns");
  for (const Row& row : rows) {
    const SuggestedSignature& sig = *row.signature;
    out += fmt::format("{:<{}}  {:>10} {:>5.1f}%  {:>13}  {:>5}\n", sig.text, width, sig.attack_matched,
                       percent(sig.attack_matched, s.attack_syns), sig.baseline_hits, row.instructions);
  }
  std::string total = fmt::format("total: {} signature{}", rows.size(), rows.size() == 1 ? "" : "s");
  out += fmt::format("{:<{}}  {:>10} {:>5.1f}%  {:>13}\n", total, width, s.covered, percent(s.covered, s.attack_syns),
                     s.baseline_hit);
  out += fmt::format("of {} attack {} and {} baseline {} ({} baseline hits allowed)\n", s.attack_syns, packets,
                     s.baseline_syns, packets, s.allowance);
  return out;
}

// `capture`: the live capture's counts as JSON members, or empty.
std::string json(const Suggestion& s, const std::vector<Row>& rows, const std::string& capture) {
  std::string out = fmt::format("{{\"attack_syns\": {}, \"baseline_syns\": {}, \"allowed_baseline_hits\": {}{}, "
                                "\"signatures\": [",
                                s.attack_syns, s.baseline_syns, s.allowance, capture);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SuggestedSignature& sig = *rows[i].signature;
    std::string also;
    for (const auto& label : rows[i].also) also += (also.empty() ? "" : ", ") + json_string(label);
    out += fmt::format("{}\n  {{\"signature\": {}, \"attack_syns\": {}, \"attack_percent\": {:.2f}, "
                       "\"baseline_hits\": {}, \"instructions\": {}, \"also_matches\": [{}]}}",
                       i ? "," : "", json_string(sig.text), sig.attack_matched,
                       percent(sig.attack_matched, s.attack_syns), sig.baseline_hits, rows[i].instructions, also);
  }
  out += fmt::format("{}], \"covered\": {}, \"covered_percent\": {:.2f}, \"baseline_hit\": {}, \"inseparable\": {}}}\n",
                     rows.empty() ? "" : "\n", s.covered, percent(s.covered, s.attack_syns), s.baseline_hit,
                     s.inseparable);
  return out;
}

}  // namespace

void SuggestCommand::add_to(CLI::App& app) {
  read_option = app.add_option("-r,--read", attack,
                               "the attack's capture (pcap or pcapng); - reads it from standard input")
                    ->type_name("FILE");
  live.add_to(app, true);
  app.add_option("--baseline", baselines,
                 "a capture of normal traffic the signatures must spare (repeatable; any link type)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--max-signatures", max_signatures, "at most N signatures (default 4)")
      ->type_name("N")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  app.add_option("--max-collateral", max_collateral,
                 "the share of the baseline's SYNs the signatures may match together, 0 to 1 (default 0)")
      ->type_name("FRACTION");
  app.add_flag("--response", response, "SYN+ACKs and [tcp:response] signatures instead of SYNs");
  app.add_flag("--json", json_output, "print the table as JSON");
  app.add_flag("--best-effort", best_effort,
               "when part of the attack cannot be told from the baseline, print the signatures for the rest");
  app.add_option("-f,--format", format,
                 "print the signatures as a rule instead of the table: iptables (one line per rule), script, "
                 "asm, c, xdp or nft (a file for nft -f), as the compiler prints them")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"iptables", "script", "asm", "c", "xdp", "nft"}));
  deploy.add_to(app);
  app.add_option("-F,--fp-file", fp_file,
                 "the database whose labels the warnings name (default p0fbpf's own, skipped if not installed; "
                 "-F /etc/p0f/p0f.fp names p0f's)")
      ->type_name("FILE");
}

int SuggestCommand::run() const {
  if (!live.check("suggest", read_option && read_option->count() > 0)) return kExitError;
  // What is read and counted: SYNs, or SYN+ACKs with --response.
  const std::string one = response ? "SYN+ACK" : "SYN";
  const std::string many = one + "s";
  if (!(max_collateral >= 0 && max_collateral <= 1)) {
    fmt::print(stderr, "p0fbpf: error: --max-collateral {} is outside 0 to 1\n  help: 0.01 allows 1% of the "
                       "baseline's {} to match\n", max_collateral, many);
    return kExitError;
  }
  auto from_stdin = std::count(baselines.begin(), baselines.end(), "-") + (attack == "-");
  if (from_stdin > 1) {
    fmt::print(stderr, "p0fbpf: error: standard input (-) can be read only once\n");
    return kExitError;
  }
  if (json_output && format) {
    fmt::print(stderr, "p0fbpf: error: --json prints the table; -f prints the rules: give one of them\n");
    return kExitError;
  }
  if (deploy.given() && !format) {
    fmt::print(stderr, "p0fbpf: error: --hook, --table, --chain, --target, --count-only, --rate, -d, --ipset, "
                       "--pinned, --dev, --direction and --pref go with -f: they shape the rules it prints\n");
    return kExitError;
  }
  // The rules as the compiler prints them: the same command, given the
  // signatures once they are known. Its options are checked now, not after
  // the capture.
  CompileCommand rule;
  if (format) {
    rule.flags.response = response;
    rule.format = *format;
    rule.split = *format == "iptables";  // a rule per program that fits xt_bpf
    rule.deploy = deploy;
    rule.check_only = true;
    if (rule.run() != kExitOk) return kExitError;
    rule.check_only = false;
  }
  const Direction direction = response ? Direction::Response : Direction::Request;
  SynSample attack_syns, baseline_syns;
  auto read_baselines = [&] {
    for (const std::string& path : baselines) {
      if (!read_syns(open_capture(path), direction, baseline_syns)) return false;
    }
    return true;
  };
  // A live capture after the baselines: of the attack as it is then, and no
  // baseline's error after minutes of capturing.
  if (live.given() && !read_baselines()) return kExitError;
  auto attack_capture = live.given() ? live.open(direction) : open_capture(attack);
  auto attack_read = read_syns(attack_capture, direction, attack_syns, live.write ? &*live.write : nullptr);
  if (!attack_read) return kExitError;
  if (!live.given() && !read_baselines()) return kExitError;
  const std::string capture_json = json_capture_stats(*attack_capture->capture, *attack_read);
  // The suggestion for what was captured, then exit 2.
  const int ok = attack_read->failed ? kExitError : kExitOk;

  Suggestion s = suggest(attack_syns, baseline_syns, {max_signatures, max_collateral});
  if (s.inseparable) {
    fmt::print(stderr,
               "p0fbpf: {}: {} of the {} attack {} ({:.1f}%) cannot be told from the baseline at "
               "--max-collateral {}: the narrowest signature for most of them, {}, matches {} baseline {}\n",
               best_effort ? "warning" : "error", s.inseparable, s.attack_syns, many,
               percent(s.inseparable, s.attack_syns), max_collateral, s.inseparable_example,
               s.inseparable_example_hits, s.inseparable_example_hits == 1 ? one : many);
    if (!best_effort) {
      fmt::print(stderr, "  help: --best-effort prints the signatures for the rest; --max-collateral allows "
                         "some baseline {}\n", many);
      return kExitError;
    }
  }
  if (s.signatures.empty()) {
    fmt::print(stderr, "p0fbpf: error: no signature separates any attack {} from the baseline\n", one);
    return kExitError;
  }

  // Real clients the signatures would also match, from the database's labels.
  std::optional<SelectedLabels> known;
  DatabaseFlags database;
  database.fp_file = fp_file;
  if (database.fp_file.empty()) database.fp_file = find_default_database().value_or("");
  if (!database.fp_file.empty()) {
    known = database.select(direction);
    if (!known) return kExitError;
  }
  CompileOptions options;
  options.direction = direction;
  options.fit_within = kXtBpfMaxInstructions;
  std::vector<Row> rows;
  for (const SuggestedSignature& sig : s.signatures) {
    Compilation compiled = compile({{sig.text, ""}}, options);
    if (!report(compiled)) return kExitError;
    Row row{&sig, compiled.program->instructions.size(), {}};
    if (known) {
      auto parsed = parse_signature(sig.text);
      if (parsed) row.also = also_matched(*parsed, *known);
    }
    if (!row.also.empty()) {
      std::string labels;
      for (const auto& label : row.also) labels += (labels.empty() ? "" : "; ") + printable(label);
      fmt::print(stderr, "p0fbpf: warning: {} also matches {}\n", sig.text, labels);
    }
    rows.push_back(std::move(row));
  }
  if (!known) {
    std::string tried;
    for (const std::string& path : default_database_paths()) tried += (tried.empty() ? "" : ", ") + printable(path);
    fmt::print(stderr, "p0fbpf: note: p0fbpf's database is not installed ({}): no check against known labels\n",
               tried);
  }

  if (format) {
    for (const SuggestedSignature& sig : s.signatures) rule.flags.signatures.push_back(sig.text);
    int printed = rule.run();
    return printed == kExitOk ? ok : printed;
  }
  return write_stdout(json_output ? json(s, rows, capture_json) : table(s, rows, response ? "SYN+ACKs" : "SYNs")) ? ok
                                                                                                            : kExitError;
}

}  // namespace p0fbpf::cli
