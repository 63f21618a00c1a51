#include "bpftools.hpp"

#include <pcap/pcap.h>

#include <vector>

#include <fmt/format.h>

namespace p0fbpf::bench {
namespace {

struct Field {
  std::string v4, v6;
};

}  // namespace

std::optional<std::string> bpftools_expression(const Signature& sig, bool ipv6, bool offset_first) {
  std::vector<std::string> steps;
  auto ip = [&](const Field& f) { return ipv6 ? f.v6 : f.v4; };
  const Field ttl{"ip[8]", "(ip6[7])"};
  const Field win{"tcp[14:2]", "ip6[(40 + 14):2]"};
  const Field data_off{"(tcp[12] >> 4)", "(ip6[40 + 12] >> 4)"};
  const Field seq{"tcp[4:4]", "ip6[(40 + 4):4]"};
  const Field ack_flag{"(tcp[tcpflags] & tcp-ack)", "(ip6[40 + tcpflags] & tcp-ack)"};
  const Field ack{"tcp[8:4]", "ip6[(40 + 8):4]"};
  const Field urg_flag{"(tcp[tcpflags] & tcp-urg)", "(ip6[40 + tcpflags] & tcp-urg)"};
  const Field urg{"tcp[18:2]", "ip6[(40 + 18):2]"};
  const Field push_flag{"(tcp[tcpflags] & tcp-push)", "(ip6[40 + tcpflags] & tcp-push)"};
  auto tcp_at = [&](unsigned offset, unsigned size) {
    return ipv6 ? fmt::format("ip6[(40 + {}):{}]", offset, size) : fmt::format("tcp[{}:{}]", offset, size);
  };
  auto tcp_byte = [&](unsigned offset) {
    return ipv6 ? fmt::format("ip6[40 + {}]", offset) : fmt::format("tcp[{}]", offset);
  };

  // The option table: offsets with bpftools' fixed sizes.
  struct Placed {
    std::uint8_t kind;
    unsigned offset;
  };
  std::vector<Placed> placed;
  unsigned at = 20, eol_pad = 0, eol_start = 0;
  for (const TcpOption& o : sig.options) {
    unsigned size;
    switch (o.kind) {
      case tcp_option::kEol: size = 1; eol_pad = o.eol_padding; break;
      case tcp_option::kNop: size = 1; break;
      case tcp_option::kMss: size = 4; break;
      case tcp_option::kWindowScale: size = 3; break;
      case tcp_option::kSackPermitted: size = 2; break;
      case tcp_option::kTimestamp: size = 10; break;
      default: return std::nullopt;
    }
    placed.push_back({o.kind, at});
    at += size;
    eol_start = at;
  }
  unsigned options_length = at + eol_pad - 20;
  auto option_at = [&](std::uint8_t kind) -> std::optional<unsigned> {
    for (const auto& p : placed) {
      if (p.kind == kind) return p.offset;
    }
    return std::nullopt;
  };

  steps.push_back(ipv6 ? "ip6" : "ip");
  if (sig.ttl.kind == InitialTtl::Kind::Window) {
    steps.push_back(fmt::format("({} <= {})", ip(ttl), sig.ttl.initial));
    if (sig.ttl.initial > 32) steps.push_back(fmt::format("({} > {})", ip(ttl), sig.ttl.initial - 35));
  }
  if (!ipv6 && sig.olen.bytes) steps.push_back(fmt::format("((ip[0] & 0xf) == {})", 5 + *sig.olen.bytes));
  std::optional<std::string> offset_check;
  if (!sig.has(Quirk::BadOptions)) {
    offset_check = fmt::format("({} == {})", ip(data_off), 5 + (options_length + 3) / 4);
  }
  if (offset_first && offset_check) steps.push_back(*offset_check);
  if (sig.mss.value && *sig.mss.value != 0) {
    auto mss = option_at(tcp_option::kMss);
    if (!mss) return std::nullopt;
    steps.push_back(fmt::format("({} == {})", tcp_at(*mss + 2, 2), *sig.mss.value));
  }
  switch (sig.window.kind) {
    case WindowSize::Kind::Any: break;
    case WindowSize::Kind::MssMultiple: {
      auto mss = option_at(tcp_option::kMss);
      if (!mss) return std::nullopt;
      steps.push_back(fmt::format("({} == ({} * {}))", ip(win), tcp_at(*mss + 2, 2), sig.window.value));
      break;
    }
    case WindowSize::Kind::MtuMultiple:
      steps.push_back(fmt::format("({} == (1500 * {}))", ip(win), sig.window.value));
      break;
    case WindowSize::Kind::Modulo:
      steps.push_back(fmt::format("(({} % {}) == 0)", ip(win), sig.window.value));
      break;
    case WindowSize::Kind::Exact:
      steps.push_back(fmt::format("({} == {})", ip(win), sig.window.value));
      break;
  }
  if (sig.scale.value && *sig.scale.value != 0) {
    auto ws = option_at(tcp_option::kWindowScale);
    if (!ws) return std::nullopt;
    steps.push_back(fmt::format("({} == {})", tcp_at(*ws + 2, 1), *sig.scale.value));
  }
  if (!offset_first && offset_check) steps.push_back(*offset_check);
  for (const auto& p : placed) steps.push_back(fmt::format("({} == {})", tcp_byte(p.offset), p.kind));
  for (unsigned pos = eol_start, left = eol_pad; left > 0;) {
    // bpftools sizes every chunk by the whole padding, as it does.
    unsigned chunk = eol_pad >= 4 ? 4 : eol_pad >= 2 ? 2 : 1;
    steps.push_back(fmt::format("({} {} 0)", tcp_at(pos, chunk), sig.has(Quirk::OptionDataAfterEol) ? "!=" : "=="));
    pos += chunk;
    left = left > chunk ? left - chunk : 0;
  }
  if (!ipv6) {
    if (sig.has(Quirk::DontFragment)) {
      steps.push_back("((ip[6] & 0x40) != 0)");
    } else if (sig.has(Quirk::NonZeroId)) {
      steps.push_back("((ip[6] & 0x40) != 0)");
      steps.push_back("(ip[4:2] != 0)");
    } else if (sig.has(Quirk::ZeroId)) {
      steps.push_back("((ip[6] & 0x40) == 0)");
      steps.push_back("(ip[4:2] == 0)");
    }
    if (sig.has(Quirk::Ecn)) steps.push_back("((ip[1] & 0x2) != 0)");
    steps.push_back(sig.has(Quirk::MustBeZero) ? "((ip[6] & 0x80) != 0)" : "((ip[6] & 0x80) == 0)");
  } else if (sig.has(Quirk::FlowLabel)) {
    steps.push_back("((ip6[2:2]) != 0)");
  }
  if (sig.has(Quirk::ZeroSeq)) steps.push_back(fmt::format("({} == 0)", ip(seq)));
  if (sig.has(Quirk::NonZeroAck)) {
    steps.push_back(fmt::format("({} == 0)", ip(ack_flag)));
    steps.push_back(fmt::format("({} != 0)", ip(ack)));
  } else if (sig.has(Quirk::ZeroAck)) {
    steps.push_back(fmt::format("({} != 0)", ip(ack_flag)));
    steps.push_back(fmt::format("({} == 0)", ip(ack)));
  }
  if (sig.has(Quirk::NonZeroUrgentPtr)) {
    steps.push_back(fmt::format("({} == 0)", ip(urg_flag)));
    steps.push_back(fmt::format("({} != 0)", ip(urg)));
  } else if (sig.has(Quirk::UrgentFlag)) {
    steps.push_back(fmt::format("({} != 0)", ip(urg_flag)));
  }
  if (sig.has(Quirk::PushFlag)) steps.push_back(fmt::format("({} != 0)", ip(push_flag)));
  if (sig.has(Quirk::ZeroTs1) || sig.has(Quirk::NonZeroTs2)) {
    auto ts = option_at(tcp_option::kTimestamp);
    if (!ts) return std::nullopt;
    if (sig.has(Quirk::ZeroTs1)) steps.push_back(fmt::format("({} == 0)", tcp_at(*ts + 2, 4)));
    if (sig.has(Quirk::NonZeroTs2)) steps.push_back(fmt::format("({} != 0)", tcp_at(*ts + 6, 4)));
  }
  if (sig.has(Quirk::ExcessiveScale)) {
    auto ws = option_at(tcp_option::kWindowScale);
    if (!ws) return std::nullopt;
    steps.push_back(fmt::format("({} > 14)", tcp_at(*ws + 2, 1)));
  }
  if (sig.payload != PayloadClass::Any) {
    std::string payload = ipv6 ? fmt::format("((ip6[4:2]) - ({} * 4))", ip(data_off))
                               : fmt::format("(ip[2:2] - ((ip[0] & 0xf) * 4) - ({} * 4))", ip(data_off));
    steps.push_back(fmt::format("({} {} 0)", payload, sig.payload == PayloadClass::Zero ? "==" : "!="));
  }
  std::string out;
  for (std::size_t i = 0; i < steps.size(); ++i) out += (i ? " and " : "") + steps[i];
  return out;
}

std::optional<BpfProgram> libpcap_compile(const std::string& expression, bool ipv6, int datalink) {
  constexpr int kLinktypeIpv4 = 228, kLinktypeIpv6 = 229;
  pcap_t* dead = pcap_open_dead(datalink >= 0 ? datalink : ipv6 ? kLinktypeIpv6 : kLinktypeIpv4, 65535);
  bpf_program compiled{};
  if (pcap_compile(dead, &compiled, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    pcap_close(dead);
    return std::nullopt;
  }
  BpfProgram out;
  out.instructions.assign(compiled.bf_insns, compiled.bf_insns + compiled.bf_len);
  out.comments.assign(compiled.bf_len, "");
  pcap_freecode(&compiled);
  pcap_close(dead);
  return out;
}

}  // namespace p0fbpf::bench
