// The XDP backend as C: a classic program printed as one self-contained C
// file for clang -target bpf, with the eBPF translation's rules (every load
// checked against data_end, 0 where classic BPF gives up, X bounded before
// an indexed load).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace p0fbpf {

struct BpfProgram;

namespace ebpf {

struct XdpCOptions {
  // Names the match function (NAME_match), the XDP program (NAME) and its
  // counters (NAME_counters): a C identifier.
  std::string name = "p0fbpf";
  // XDP_PASS for every packet: the counters say what would be dropped.
  bool count_only = false;
  // What the classic program's verdicts 1, 2, ... stand for, each counted
  // in its own slot after slot 0 (packets seen); verdicts past the last
  // count in the last. Written into the file as comments.
  std::vector<std::string> verdicts = {"matched"};
};

// The file includes <linux/bpf.h>, <bpf/bpf_helpers.h> and
// <bpf/bpf_endian.h> (libbpf-dev).
std::string print_xdp_c(const BpfProgram& classic, const XdpCOptions& options = {});

// Whether `name` can name the file's functions and map.
bool is_c_identifier(std::string_view name);

}  // namespace ebpf
}  // namespace p0fbpf
