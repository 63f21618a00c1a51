#include "passes/link.hpp"

#include <algorithm>
#include <stdexcept>

namespace p0fbpf {
namespace {

using namespace ir;

constexpr std::uint32_t kEthernetHeader = 14;
constexpr std::uint32_t kVlanTag = 4;
constexpr std::uint32_t kCookedHeader = 16;
constexpr std::uint32_t kCooked2Header = 20;
constexpr std::uint32_t kLoopbackHeader = 4;
constexpr std::uint32_t kEtherTypeVlan = 0x8100;

std::uint32_t ether_type(int ip_version) { return ip_version == 6 ? 0x86dd : 0x0800; }

Branch framed(const Branch& branch, std::uint32_t offset, ConditionPtr link_check) {
  Branch out = branch;
  out.link_offset = offset;
  out.condition = all({std::move(link_check), branch.condition});
  return out;
}

// The frame's EtherType field at `at` holds `type`: at 12 in an untagged
// frame, at 16 behind one 802.1Q tag.
ConditionPtr ether_type_at(std::uint32_t at, std::uint32_t type) {
  return eq(frame_load(Width::Half, at), type, "link: ethertype");
}

// The frame carries an 802.1Q tag where an untagged frame has its EtherType.
ConditionPtr vlan_tag() { return eq(frame_load(Width::Half, 12), kEtherTypeVlan, "link: 802.1Q tag"); }

// The EtherType at 12, or one 802.1Q tag and the EtherType behind it. An
// untagged frame leaves the shift at 0, X's value at the start: it costs the
// EtherType compare alone.
ConditionPtr ethernet_framing(std::uint32_t type) {
  ValuePtr shift = link_shift_variable();
  return all({assign(shift, constant(0), "link: no tag"),
              any({ether_type_at(12, type),
                   all({vlan_tag(), assign(shift, constant(kVlanTag), "link: ip header behind the tag"),
                        ether_type_at(12 + kVlanTag, type)})})});
}

// IP-relative values as read from the frame, the IP header `at` bytes in
// and the shift further.
class Based {
 public:
  explicit Based(std::uint32_t at) : at_(at) {}

  ValuePtr operator()(const ValuePtr& v) const {
    const ValuePtr& shift = link_shift_variable();
    switch (v->kind) {
      case Value::Kind::Constant:
        return v;
      case Value::Kind::Load:
        if (v->frame) return v;
        // A position computed from the datagram is relative to its first byte.
        return load(v->width, v->offset + at_, v->base ? add((*this)(v->base), shift) : shift);
      case Value::Kind::PacketLength:
        // The framing read the link header, so the frame holds at + shift bytes.
        return sub(binary(BinaryOp::Sub, packet_length(), shift), at_);
      case Value::Kind::IpHeaderLength:
        return binary(BinaryOp::Lsh, bit_and(load(Width::Byte, at_, shift), 0x0f), constant(2));
      case Value::Kind::Binary:
        return binary(v->op, (*this)(v->lhs), (*this)(v->rhs));
      case Value::Kind::Variable:
        break;
    }
    // Other variables hold IP-relative positions; no pass before this one
    // sets them in a branch with framing.
    throw std::logic_error("variable " + v->key + " in a branch with framing");
  }

  ConditionPtr operator()(const ConditionPtr& c) const {
    if (c->kind == Condition::Kind::Constant) return c;
    auto out = std::make_shared<Condition>(*c);
    if (c->kind == Condition::Kind::Compare && c->lhs->kind == Value::Kind::PacketLength &&
        c->relation != Relation::AnyBitSet) {
      // len - shift - at against r is len - shift against r + at: one
      // subtraction fewer, and no wrap (the frame holds at + shift bytes).
      out->lhs = binary(BinaryOp::Sub, packet_length(), link_shift_variable());
      out->rhs = add((*this)(c->rhs), at_);
      return out;
    }
    if (c->lhs) out->lhs = (*this)(c->lhs);
    if (c->rhs) out->rhs = (*this)(c->rhs);
    for (auto& child : out->children) child = (*this)(child);
    return out;
  }

 private:
  std::uint32_t at_;
};

}  // namespace

Program apply_link(const Program& program, const LinkLayer& link) {
  Program out;
  for (const Branch& branch : program.branches) {
    std::uint32_t type = ether_type(branch.ip_version);
    switch (link.type) {
      case LinkType::Raw:
        out.branches.push_back(framed(branch, link.l3_offset, always()));
        break;
      case LinkType::Ethernet: {
        // The IP-level passes see the untagged layout; resolve_link_base
        // makes the reads follow the framing.
        Branch b = framed(branch, kEthernetHeader, always());
        b.framing = ethernet_framing(type);
        out.branches.push_back(std::move(b));
        break;
      }
      case LinkType::LinuxCooked:
        out.branches.push_back(framed(branch, kCookedHeader,
                                      eq(frame_load(Width::Half, 14), type, "link: protocol")));
        break;
      case LinkType::LinuxCooked2:
        out.branches.push_back(framed(branch, kCooked2Header,
                                      eq(frame_load(Width::Half, 0), type, "link: protocol")));
        break;
      case LinkType::Loopback:
        // The family is in host byte order and differs between systems; the
        // IP version nibble decides, as in p0f.
        out.branches.push_back(framed(branch, kLoopbackHeader, always()));
        break;
    }
  }
  return out;
}

Program copy_per_tag(const Program& program) {
  std::vector<Branch> untagged, tagged;
  for (const Branch& branch : program.branches) {
    if (!branch.framing) {
      untagged.push_back(branch);
      continue;
    }
    std::uint32_t type = ether_type(branch.ip_version);
    Branch plain = branch;
    plain.framing = nullptr;
    plain.condition = all({ether_type_at(12, type), branch.condition});
    untagged.push_back(plain);
    Branch behind = plain;
    behind.link_offset = branch.link_offset + kVlanTag;
    behind.condition = all({vlan_tag(), ether_type_at(12 + kVlanTag, type), branch.condition});
    tagged.push_back(std::move(behind));
  }
  Program out = program;
  out.branches = std::move(untagged);
  out.branches.insert(out.branches.end(), tagged.begin(), tagged.end());
  return out;
}

std::optional<Program> frame_once(const Program& program) {
  // One branch works it out once anyway, and its framing costs an untagged
  // frame one compare fewer than the program's would.
  if (program.branches.size() < 2) return std::nullopt;
  const ConditionPtr framings[] = {ethernet_framing(ether_type(4)), ethernet_framing(ether_type(6))};
  for (const Branch& branch : program.branches) {
    if (!branch.framing || !same_check(branch.framing, framings[branch.ip_version == 6])) return std::nullopt;
  }
  const ValuePtr& shift = link_shift_variable();
  Program out = program;
  ConditionPtr tagged = assign(shift, constant(kVlanTag), "link: ip header behind the tag");
  out.framing = all({assign(shift, constant(0), "link: no tag"), select(vlan_tag(), tagged, always())});
  for (Branch& branch : out.branches) {
    ConditionPtr type = eq(load(Width::Half, 12, shift), ether_type(branch.ip_version), "link: ethertype");
    branch.condition = all({std::move(type), Based(branch.link_offset)(branch.condition)});
    branch.framing = nullptr;
    branch.link_offset = 0;  // reads and the packet length are now the frame's
  }
  return out;
}

Program resolve_link_base(const Program& program, bool negate) {
  Program out = program;
  for (Branch& branch : out.branches) {
    if (!branch.framing) continue;
    std::vector<ConditionPtr> checks;
    if (negate) {
      // Every read of the framing inside the frame; a frame too short for
      // them holds no datagram either.
      std::uint32_t end = read_end(branch.framing, nullptr);
      checks.push_back(read_guard(ge(packet_length(), std::max<std::uint32_t>(end, 1), "frame holds the link header")));
    }
    checks.push_back(branch.framing);
    checks.push_back(Based(branch.link_offset)(branch.condition));
    branch.condition = all(std::move(checks));
    branch.framing = nullptr;
    branch.link_offset = 0;  // reads and the packet length are now the frame's
  }
  return out;
}

}  // namespace p0fbpf
