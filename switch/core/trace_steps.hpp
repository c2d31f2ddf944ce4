// The words of a trace: one function a decision of the pipeline, called by the segment only for
// traced frames (so only they pay for the strings).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vswitch/fdb.hpp"
#include "vswitch/policy.hpp"
#include "vswitch/trace.hpp"
#include "vswitch/vlan.hpp"

struct rte_mbuf;

namespace vswitch::trace {

// How a destination gets the frame.
enum class Egress : uint8_t { as_received, in_place, copied };
enum class TxResult : uint8_t { sent, tx_full, tx_error, port_left, would_send };

// The heading: where the frame came from, its addresses, type and length.
void begin(FrameTrace& t, const std::string& segment, const std::string& port, const rte_mbuf* m,
           bool synthetic);

// Stage classify, and the drop checks of the ingress port.
void runt(FrameTrace& t, uint32_t len, bool truncated_tag);
void unjoinable(FrameTrace& t);
void vlan_refused(FrameTrace& t, const std::string& port, const PortVlan& vlan,
                  const uint8_t* frame);
void classified(FrameTrace& t, bool hub, uint16_t vlan, bool tagged, bool priority,
                const uint8_t* frame, uint32_t payload);
void oversize(FrameTrace& t, const std::string& port, uint32_t payload, uint32_t mtu, bool egress,
              bool only_destination);
void checks_passed(FrameTrace& t, uint32_t len, uint32_t payload, uint32_t mtu);
void storm(FrameTrace& t, const std::string& port, std::string_view kind, uint32_t limit);

// Stage learn.
void learned(FrameTrace& t, uint64_t src, uint16_t vlan, const Fdb::LearnResult& r,
             const std::string& in, const std::string& old_port, bool evicts, uint32_t limit,
             bool synthetic);
void not_learned_multicast(FrameTrace& t, uint64_t src);
void not_learned_hub(FrameTrace& t);
void learned_just_before(FrameTrace& t, uint64_t src, uint16_t vlan);
// Port security: a sticky port's new address, and a source the port may not use.
void learned_sticky(FrameTrace& t, uint64_t src, uint16_t vlan, const std::string& in, size_t held,
                    uint32_t max_macs, bool synthetic);
void source_refused(FrameTrace& t, uint64_t src, uint16_t vlan, const std::string& in,
                    const std::string& why, uint32_t max_macs);

// Stage lookup.
void hub_flood(FrameTrace& t, size_t candidates);
void flood(FrameTrace& t, uint64_t dst, uint16_t vlan, size_t candidates);
void hit(FrameTrace& t, uint64_t dst, uint16_t vlan, const std::string& out);
void hairpin(FrameTrace& t, const std::string& in);

// Stage policy, one a candidate port; `only_destination`: refusing it drops the frame.
void policy(FrameTrace& t, const std::string& out, Role from, Role to, bool allowed,
            const Policy& p, bool only_destination);
void not_in_vlan(FrameTrace& t, const std::string& out, uint16_t vlan);
// A mirror's output port: it takes no traffic but the mirror's, and sends none of its own.
void mirror_output(FrameTrace& t, const std::string& port);
void to_mirror_output(FrameTrace& t, const std::string& out);
// A mirror's copy of a traced frame, as it was received on the port or sent to it.
void mirrored(FrameTrace& t, const std::string& mirror, const std::string& out,
              const std::string& port, bool received, bool synthetic);

// Stage egress, one a destination.
void egress(FrameTrace& t, const std::string& out, bool hub, bool tagged, uint16_t vlan,
            Egress how);
void no_buffer(FrameTrace& t, const std::string& out, bool only_destination);

// Stage transmit, one a destination, and the result line that ends the story.
void transmitted(FrameTrace& t, const std::string& out, TxResult r);
void finish(FrameTrace& t);

}  // namespace vswitch::trace
