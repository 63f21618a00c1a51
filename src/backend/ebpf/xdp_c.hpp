// The XDP backend as C: a classic program printed as one self-contained C
// file for clang -target bpf, with the eBPF translation's rules (every load
// checked against data_end, 0 where classic BPF gives up, X bounded before
// an indexed load).
#pragma once

#include <string>

namespace p0fbpf {

struct BpfProgram;

namespace ebpf {

// `name` names the match function (NAME_match) and the XDP program (NAME).
// The file includes <linux/bpf.h>, <bpf/bpf_helpers.h> and
// <bpf/bpf_endian.h> (libbpf-dev).
std::string print_xdp_c(const BpfProgram& classic, const std::string& name);

}  // namespace ebpf
}  // namespace p0fbpf
