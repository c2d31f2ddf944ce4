#include <rte_mbuf.h>

#include <cstdarg>
#include <cstdio>

#include "trace_steps.hpp"
#include "vswitch/trace.hpp"

namespace vswitch {

std::string_view to_string(TraceStage s) {
  switch (s) {
    case TraceStage::classify:
      return "classify";
    case TraceStage::check:
      return "check";
    case TraceStage::learn:
      return "learn";
    case TraceStage::lookup:
      return "lookup";
    case TraceStage::policy:
      return "policy";
    case TraceStage::egress:
      return "egress";
    case TraceStage::transmit:
      return "transmit";
    case TraceStage::result:
      return "result";
  }
  return "?";
}

namespace {

[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

std::string mac(uint64_t bits) {
  return MacAddr(bits).str();
}

std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string ports(size_t n) {
  return std::to_string(n) + (n == 1 ? " port" : " ports");
}

}  // namespace

std::string FrameTrace::text() const {
  std::string out =
      synthetic ? "synthetic frame, as if it entered " : "frame " + std::to_string(number) + " on ";
  out += port + " (segment " + segment + "): ";
  if (has_header) {
    out += src.str() + " > " + dst.str() + format(", type 0x%04x, ", ethertype);
  }
  out += std::to_string(length) + (length == 1 ? " byte\n" : " bytes\n");
  for (const TraceStep& s : steps) {
    out += format("  %-9s ", std::string(to_string(s.stage)).c_str());
    if (!s.port.empty()) out += s.port + ": ";
    out += s.says + "\n";
  }
  return out;
}

namespace trace {

void begin(FrameTrace& t, const std::string& segment, const std::string& port, const rte_mbuf* m,
           bool synthetic) {
  t.segment = segment;
  t.port = port;
  t.synthetic = synthetic;
  t.length = m->pkt_len;
  uint8_t head[kEtherHeaderLen];
  const auto* p = m->pkt_len >= kEtherHeaderLen
                      ? static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, sizeof head, head))
                      : nullptr;
  t.has_header = p != nullptr;
  if (p != nullptr) {
    t.dst = MacAddr::from_bytes(p);
    t.src = MacAddr::from_bytes(p + 6);
    t.ethertype = load_be16(p + 12);
  }
}

void runt(FrameTrace& t, uint32_t len, bool truncated_tag) {
  t.add(TraceStage::check, "",
        truncated_tag ? format("dropped: runt, %u bytes: an 802.1Q tag cut short (a tagged "
                               "frame has at least %u)",
                               len, kEtherHeaderLen + kVlanTagLen)
                      : format("dropped: runt, %u bytes: shorter than an Ethernet header (%u)", len,
                               kEtherHeaderLen));
}

void unjoinable(FrameTrace& t) {
  t.add(TraceStage::check, "",
        "dropped: no_buffer: its headers span buffers and no buffer was left to join them");
}

void vlan_refused(FrameTrace& t, const std::string& port, const PortVlan& vlan,
                  const uint8_t* frame) {
  std::string why;
  if (load_be16(frame + 12) != kEtherTypeVlan) {
    why = "untagged, and " + port + " is a trunk without a native VLAN";
  } else {
    const uint16_t tci = load_be16(frame + 14);
    const uint16_t vid = tci & 0x0fff;
    if (vid == 0 && vlan.native == kNoVlan) {
      why = "priority-tagged (VID 0), and " + port + " has no native VLAN to put it in";
    } else if (vid == 0) {
      why = "a priority tag around a second 802.1Q tag (VLAN hopping)";
    } else if (!vlan.accepts_tagged) {
      why = format("tagged VID %u, and %s is an access port (VLAN %u)", vid, port.c_str(),
                   vlan.native);
    } else if (vid > kVlanMax) {
      why = format("tagged VID %u, which 802.1Q reserves", vid);
    } else {
      why = format("tagged VID %u, which is not among the VLANs of %s", vid, port.c_str());
    }
  }
  t.add(TraceStage::classify, "", "dropped: vlan: " + why);
}

void classified(FrameTrace& t, bool hub, uint16_t vlan, bool tagged, bool priority,
                const uint8_t* frame, uint32_t payload) {
  const uint16_t tci = tagged ? load_be16(frame + 14) : 0;
  std::string form;
  if (!tagged) {
    form = "untagged";
  } else if (priority) {
    form = format("priority-tagged (VID 0, priority %u)", tci >> 13);
  } else {
    form = format("tagged VID %u, priority %u", tci & 0x0fff, tci >> 13);
  }
  const uint16_t inner = load_be16(frame + (tagged ? 16 : 12));
  if (hub) {
    t.add(TraceStage::classify, "",
          form + format(", type 0x%04x, payload %u bytes (a hub does not look at VLANs)", inner,
                        payload));
    return;
  }
  const std::string where = tagged && !priority ? format("VLAN %u", vlan)
                                                : format("VLAN %u (the port's native VLAN)", vlan);
  t.add(TraceStage::classify, "",
        form + ", " + where + format(", type 0x%04x, payload %u bytes", inner, payload));
}

void oversize(FrameTrace& t, const std::string& port, uint32_t payload, uint32_t mtu, bool egress,
              bool only_destination) {
  const std::string says =
      format("dropped: oversize, payload %u bytes over the MTU %u of ", payload, mtu) + port;
  if (!egress) {
    t.add(TraceStage::check, "", says);
    return;
  }
  t.add(TraceStage::egress, port,
        format("dropped: oversize, payload %u bytes over its MTU %u", payload, mtu));
  if (!only_destination) t.lost.push_back(port + " (oversize)");
}

void checks_passed(FrameTrace& t, uint32_t len, uint32_t payload, uint32_t mtu) {
  t.add(TraceStage::check, "",
        format("passed: %u bytes, payload %u within the MTU %u", len, payload, mtu));
}

void storm(FrameTrace& t, const std::string& port, std::string_view kind, uint32_t limit) {
  t.add(TraceStage::check, "",
        format("storm control: over %s's limit of %u %.*s frames a second", port.c_str(), limit,
               static_cast<int>(kind.size()), kind.data()));
}

void learned_sticky(FrameTrace& t, uint64_t src, uint16_t vlan, const std::string& in, size_t held,
                    uint32_t max_macs, bool synthetic) {
  t.add(TraceStage::learn, "",
        format("%s in VLAN %u: new, %s on %s as a sticky (static) entry, %zu of its max-macs %u",
               mac(src).c_str(), vlan, synthetic ? "would be learned" : "learned", in.c_str(),
               held + (synthetic ? 1 : 0), max_macs));
}

void source_refused(FrameTrace& t, uint64_t src, uint16_t vlan, const std::string& in,
                    const std::string& why, uint32_t max_macs) {
  std::string says =
      format("%s in VLAN %u: refused on %s: %s", mac(src).c_str(), vlan, in.c_str(), why.c_str());
  if (max_macs != 0 && why.find("max-macs") != std::string::npos) {
    says += format(" (%u)", max_macs);
  }
  t.add(TraceStage::learn, "", says);
}

void learned(FrameTrace& t, uint64_t src, uint16_t vlan, const Fdb::LearnResult& r,
             const std::string& in, const std::string& old_port, bool evicts, uint32_t limit,
             bool synthetic) {
  const std::string who = format("%s in VLAN %u: ", mac(src).c_str(), vlan);
  const char* would = synthetic ? "would be " : "";
  std::string says;
  switch (r.what) {
    case Fdb::Learned::refreshed:
      says = "known on " + in;
      break;
    case Fdb::Learned::added:
      says = std::string("new, ") + (synthetic ? "would be learned" : "learned") + " on " + in;
      if (evicts) {
        says += format(
            " (the FDB is at its limit of %u: the oldest entry of the port holding "
            "the most %smade room)",
            limit, synthetic ? "would have " : "");
      }
      break;
    case Fdb::Learned::moved:
      says = std::string(would) + "moved from " + old_port + " to " + in;
      if (r.flapping) says += " (flapping: it moved within the hold-down time)";
      break;
    case Fdb::Learned::kept_static:
      says = "a static entry on " + old_port + ": kept there, not learned on " + in;
      break;
    case Fdb::Learned::refused:
      says = format("not learned: refused by the FDB limit (%u entries, all static)", limit);
      break;
    case Fdb::Learned::over_limit:
      says = "not learned: " + in + " holds its max-macs";
      break;
  }
  t.add(TraceStage::learn, "", who + says);
}

void not_learned_multicast(FrameTrace& t, uint64_t src) {
  t.add(TraceStage::learn, "", "not learned: " + mac(src) + " is a multicast source");
}

void not_learned_hub(FrameTrace& t) {
  t.add(TraceStage::learn, "", "none: a hub learns nothing");
}

void learned_just_before(FrameTrace& t, uint64_t src, uint16_t vlan) {
  t.add(TraceStage::learn, "",
        format("%s in VLAN %u: known (seen in the frame just before)", mac(src).c_str(), vlan));
}

void hub_flood(FrameTrace& t, size_t candidates) {
  t.add(TraceStage::lookup, "",
        "none: a hub floods to every other port (" + ports(candidates) + ")");
}

void flood(FrameTrace& t, uint64_t dst, uint16_t vlan, size_t candidates) {
  const char* kind = (dst & 1) == 0                   ? "unknown (miss)"
                     : dst == (uint64_t{1} << 48) - 1 ? "broadcast"
                                                      : "multicast";
  t.add(TraceStage::lookup, "",
        format("%s in VLAN %u is %s: flood to the other ports of VLAN %u (", mac(dst).c_str(), vlan,
               kind, vlan) +
            ports(candidates) + ")");
}

void hit(FrameTrace& t, uint64_t dst, uint16_t vlan, const std::string& out) {
  t.add(TraceStage::lookup, "",
        format("%s in VLAN %u: hit, behind ", mac(dst).c_str(), vlan) + out);
}

void hairpin(FrameTrace& t, const std::string& in) {
  t.add(TraceStage::lookup, "",
        "dropped: hairpin: the destination is behind " + in + ", where the frame came from");
}

void policy(FrameTrace& t, const std::string& out, Role from, Role to, bool allowed,
            const Policy& p, bool only_destination) {
  const std::string roles = std::string(to_string(from)) + " to " + std::string(to_string(to));
  if (allowed) {
    t.add(TraceStage::policy, out, "allowed (" + roles + ")");
    return;
  }
  t.add(TraceStage::policy, out,
        std::string(only_destination ? "dropped: policy: " : "") + "refused by the role matrix (" +
            roles + " is not among the pairs of policy " + p.str() + ")");
}

void not_in_vlan(FrameTrace& t, const std::string& out, uint16_t vlan) {
  t.add(TraceStage::policy, out, format("dropped: vlan: not in VLAN %u", vlan));
}

void mirror_output(FrameTrace& t, const std::string& port) {
  t.add(TraceStage::check, "",
        "dropped: mirror: " + port + " is a mirror's output port, which takes no traffic");
}

void mirrored(FrameTrace& t, const std::string& mirror, const std::string& out,
              const std::string& port, bool received, bool synthetic) {
  t.add(TraceStage::egress, out,
        format("mirror %s: %s of the frame as %s %s", mirror.c_str(),
               synthetic ? "would take a copy" : "a copy", received ? "received on" : "sent to",
               port.c_str()));
}

void to_mirror_output(FrameTrace& t, const std::string& out) {
  t.add(TraceStage::policy, out,
        "dropped: policy: a mirror's output port, which takes no part in switching");
}

void egress(FrameTrace& t, const std::string& out, bool hub, bool tagged, uint16_t vlan,
            Egress how) {
  const std::string form =
      hub ? std::string("as received (a hub changes nothing)")
          : (tagged ? format("tagged VID %u", vlan) : std::string("untagged")) +
                (how == Egress::as_received ? ", as received"
                 : how == Egress::in_place  ? ", changed in place"
                                            : ", in a copy");
  t.add(TraceStage::egress, out, form);
}

void no_buffer(FrameTrace& t, const std::string& out, bool only_destination) {
  t.add(TraceStage::egress, out, "dropped: no_buffer: no mbuf for its copy");
  if (!only_destination) t.lost.push_back(out + " (no_buffer)");
}

void transmitted(FrameTrace& t, const std::string& out, TxResult r) {
  switch (r) {
    case TxResult::sent:
      t.add(TraceStage::transmit, out, "sent");
      t.sent.push_back(out);
      return;
    case TxResult::tx_full:
      t.add(TraceStage::transmit, out, "dropped by the plug: tx_full (its transport was full)");
      t.lost.push_back(out + " (tx_full)");
      return;
    case TxResult::tx_error:
      t.add(TraceStage::transmit, out, "dropped by the plug: tx_error (its transport failed)");
      t.lost.push_back(out + " (tx_error)");
      return;
    case TxResult::port_left:
      t.add(TraceStage::transmit, out, "dropped: tx_error (the port left before its flush)");
      t.lost.push_back(out + " (tx_error)");
      return;
    case TxResult::would_send:
      t.add(TraceStage::transmit, out, "would be handed to the port (synthetic: nothing sent)");
      t.sent.push_back(out);
      return;
  }
}

void finish(FrameTrace& t) {
  std::string says;
  if (t.dropped) {
    says = "dropped: " + std::string(to_string(*t.dropped));
  } else if (t.sent.empty() && t.lost.empty()) {
    says = "no port to send it to";
  } else {
    if (!t.sent.empty()) says = (t.synthetic ? "would go to " : "sent to ") + list(t.sent);
    if (!t.lost.empty())
      says += (says.empty() ? "" : "; ") + std::string("lost on ") + list(t.lost);
  }
  t.add(TraceStage::result, "", says);
}

}  // namespace trace
}  // namespace vswitch
