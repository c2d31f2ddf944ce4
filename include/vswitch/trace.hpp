// Tracing frames through a segment: why did this frame go there? For each traced frame the
// segment writes down every stage's decision in order (classification, the drop checks, learning,
// the lookup, the policy verdict for each candidate port, the egress form, the transmit result)
// and hands the whole story to a TraceSink once the last of its transmits is known.
//
// Tracing costs nothing to a port nobody traces: the segment runs a second instance of its
// pipeline for traced ports, chosen once a burst, and the ordinary one has no trace code in it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/ether.hpp"
#include "vswitch/port.hpp"

struct rte_mbuf;

namespace vswitch {

// Which pipeline a burst goes through: the ordinary one, the one that records what it does for
// the frames a sink wants, or the one that only records what it would do (a synthetic frame:
// nothing learned, counted, changed or sent).
enum class TraceMode : uint8_t { off, live, dry };

enum class TraceStage : uint8_t {
  classify,
  check,
  learn,
  lookup,
  policy,
  egress,
  transmit,
  result
};
std::string_view to_string(TraceStage s);

struct TraceStep {
  TraceStage stage;
  std::string port;  // the destination the step is about; empty when it is about the frame
  std::string says;  // the decision, in words
};

// One frame's story.
struct FrameTrace {
  uint64_t number = 0;  // given by the sink, counting from 1
  std::string segment;
  std::string port;  // where the frame entered
  bool synthetic = false;
  uint32_t length = 0;
  bool has_header = false;  // long enough for the addresses and type below
  MacAddr dst;
  MacAddr src;
  uint16_t ethertype = 0;  // the first one, 0x8100 when tagged
  std::vector<TraceStep> steps;

  // What came of it, for the result line.
  std::optional<DropReason> dropped;  // the frame as a whole, before any destination
  std::vector<std::string> sent;      // ports that took it (or would, when synthetic)
  std::vector<std::string> lost;      // ports that did not, with the reason

  void add(TraceStage stage, std::string about, std::string says) {
    steps.push_back({stage, std::move(about), std::move(says)});
  }
  // A block of lines: a heading, then one indented line a step.
  std::string text() const;
};

// Where a traced port's traces go. Called on the engine's thread, from the datapath: a sink
// looks, copies what it wants and returns.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // A frame entered the traced port, before any check: whether to trace it.
  virtual bool wants(const rte_mbuf* m) = 0;
  // A traced frame's whole story, once all its transmits are known, in the order the frames came.
  virtual void traced(FrameTrace& t) = 0;
  // The port left its segment; the segment forgets the sink.
  virtual void detached() = 0;
};

}  // namespace vswitch
