// `p0fbpf xdp stats --prometheus`: the counters of p0fbpf's XDP program in
// Prometheus' text exposition format (version 0.0.4), for node_exporter's
// textfile collector and the like.
#pragma once

#include <string>
#include <string_view>

#include "p0fbpf/xdp.hpp"

namespace p0fbpf::cli {

// `text` as a label value, without its quotes: backslash, double quote and
// newline escaped as the format requires; bytes that are not valid UTF-8,
// and control characters (which would reach a terminal), as U+FFFD.
std::string prometheus_label_value(std::string_view text);

// HELP and TYPE lines, then the samples: p0fbpf_xdp_packets_total,
// p0fbpf_xdp_syns_total (when the program counts them),
// p0fbpf_xdp_matches_total per label and signature (a name given twice is
// one series, its counts summed), p0fbpf_xdp_attached_timestamp_seconds
// (when known) and p0fbpf_xdp_info; every sample labelled with the device.
std::string prometheus_text(const std::string& device, const xdp::Stats& stats);

}  // namespace p0fbpf::cli
