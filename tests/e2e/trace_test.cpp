// `vswitchctl trace` on the real daemon with real VDE clients: one test a kind of decision
// (flood, learned unicast, hairpin, VLAN refused, policy refused, oversize), each reading the
// trace lines that name it; the filter and the count; JSON; Ctrl-C; and the synthetic trace,
// which says what would happen and changes no counter and learns nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>

#include "../support/frames.hpp"
#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// vswitchctl trace in the background, its output in a file.
class Trace : public StreamingCtl {
 public:
  Trace(const Vswitchd& vs, const std::string& out, std::vector<std::string> args)
      : StreamingCtl(vs, with(std::move(args)), out, out + ".err"), out_(out) {
    // vswitchctl says so once the switch has taken the request: from then on it traces.
    started_ = wait_until([&] { return err().find("tracing") != std::string::npos; }, 5s);
  }
  bool started() const { return started_; }
  std::string out() const { return slurp(out_); }

 private:
  static std::vector<std::string> with(std::vector<std::string> args) {
    args.insert(args.begin(), "trace");
    return args;
  }
  std::string out_;
  bool started_ = false;
};

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vs_ = std::make_unique<Vswitchd>(std::vector<std::string>{"--vde", tmp_.file("sw")});
    ASSERT_TRUE(vs_->ready()) << vs_->log();
    a_ = std::make_unique<VdeClient>(tmp_.file("sw"));
    b_ = std::make_unique<VdeClient>(tmp_.file("sw"));
    c_ = std::make_unique<VdeClient>(tmp_.file("sw"));
    ASSERT_TRUE(a_->ok() && b_->ok() && c_->ok());
    ASSERT_TRUE(wait_until([&] { return vs_->ctl({"port", "list"}).items().size() == 3; }, 5s));
    const Value ports = vs_->ctl({"port", "list"});
    pa_ = ports.items()[0].get("name")->as_string();
    pb_ = ports.items()[1].get("name")->as_string();
    pc_ = ports.items()[2].get("name")->as_string();
  }

  // The trace of the one frame `send` makes `from` send, with the given options.
  std::string trace_one(const std::string& port, const std::function<void()>& send,
                        std::vector<std::string> options = {}) {
    std::vector<std::string> args = {port, "--count", "1"};
    args.insert(args.end(), options.begin(), options.end());
    Trace t(*vs_, tmp_.file("trace" + std::to_string(++traces_) + ".txt"), args);
    EXPECT_TRUE(t.started()) << t.err();
    send();
    EXPECT_EQ(t.wait(), 0) << t.err();
    return t.out();
  }

  // a's address learned on a, b's on b.
  void learn_a_and_b() {
    ASSERT_TRUE(a_->send(frame(kBroadcast, mac(1))));
    ASSERT_TRUE(b_->recv());
    ASSERT_TRUE(b_->send(frame(kBroadcast, mac(2))));
    ASSERT_TRUE(a_->recv());
    c_->drain(100);
  }

  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
  std::unique_ptr<VdeClient> a_, b_, c_;
  std::string pa_, pb_, pc_;
  int traces_ = 0;
};

TEST_F(TraceTest, AFloodNamesEveryPortItReached) {
  const std::string out = trace_one(pa_, [&] {
    ASSERT_TRUE(a_->send(frame(kBroadcast, mac(1))));
    ASSERT_TRUE(b_->recv());
    ASSERT_TRUE(c_->recv());
  });
  const auto lines = lines_of(out);
  ASSERT_GE(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0], "frame 1 on " + pa_ +
                          " (segment default): 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, type "
                          "0x0800, 60 bytes");
  EXPECT_THAT(
      out, HasSubstr("\n  learn     02:00:00:00:00:01 in VLAN 0: new, learned on " + pa_ + "\n"));
  EXPECT_THAT(out, HasSubstr("\n  lookup    ff:ff:ff:ff:ff:ff in VLAN 0 is broadcast: flood to "
                             "the other ports of VLAN 0 (2 ports)\n"));
  EXPECT_THAT(out, HasSubstr("\n  transmit  " + pb_ + ": sent\n"));
  EXPECT_THAT(out, HasSubstr("\n  transmit  " + pc_ + ": sent\n"));
  EXPECT_THAT(out, HasSubstr("\n  result    sent to " + pb_ + ", " + pc_ + "\n"));
}

TEST_F(TraceTest, LearnedUnicastGoesToItsPortOnly) {
  learn_a_and_b();
  const std::string out = trace_one(pb_, [&] {
    ASSERT_TRUE(b_->send(frame(mac(1), mac(2))));
    ASSERT_TRUE(a_->recv());
  });
  EXPECT_THAT(out, HasSubstr("learn     02:00:00:00:00:02 in VLAN 0: known on " + pb_ + "\n"));
  EXPECT_THAT(out, HasSubstr("lookup    02:00:00:00:00:01 in VLAN 0: hit, behind " + pa_ + "\n"));
  EXPECT_THAT(out, HasSubstr("result    sent to " + pa_ + "\n"));
  EXPECT_THAT(out, Not(HasSubstr(pc_)));
}

TEST_F(TraceTest, HairpinIsDroppedAtTheLookup) {
  learn_a_and_b();
  // Both behind a: a hub or another bridge out there.
  const std::string out = trace_one(pa_, [&] { ASSERT_TRUE(a_->send(frame(mac(1), mac(3)))); });
  EXPECT_THAT(out, HasSubstr("lookup    02:00:00:00:00:01 in VLAN 0: hit, behind " + pa_ + "\n"));
  EXPECT_THAT(out, HasSubstr("dropped: hairpin: the destination is behind " + pa_));
  EXPECT_THAT(out, HasSubstr("result    dropped: hairpin\n"));
}

TEST_F(TraceTest, AForeignVlanIsRefusedAtTheClassification) {
  vs_->ctl({"port", "set", pa_, "vlan-mode=access", "tag=10"});
  const std::string out =
      trace_one(pa_, [&] { ASSERT_TRUE(a_->send(tagged(frame(kBroadcast, mac(1)), 20))); });
  EXPECT_THAT(out, HasSubstr("classify  dropped: vlan: tagged VID 20, and " + pa_ +
                             " is an access port (VLAN 10)\n"));
  EXPECT_THAT(out, HasSubstr("result    dropped: vlan\n"));
  EXPECT_EQ(vs_->port_counter(pa_, "drops.vlan"), 1);
}

TEST_F(TraceTest, ThePolicyRefusesARoleAndSaysWhich) {
  vs_->ctl({"segment", "set", "default", "policy=internal"});
  vs_->ctl({"port", "set", pc_, "role=host"});
  const std::string out = trace_one(pa_, [&] {
    ASSERT_TRUE(a_->send(frame(kBroadcast, mac(1))));
    ASSERT_TRUE(b_->recv());
  });
  EXPECT_THAT(out, HasSubstr("policy    " + pb_ + ": allowed (vm to vm)\n"));
  EXPECT_THAT(out, HasSubstr("policy    " + pc_ +
                             ": refused by the role matrix (vm to host is not among the pairs "
                             "of policy internal)\n"));
  EXPECT_THAT(out, HasSubstr("result    sent to " + pb_ + "\n"));
  EXPECT_FALSE(c_->recv(200));
}

TEST_F(TraceTest, OversizeOnTheWayInAndOnTheWayOut) {
  vs_->ctl({"port", "set", pa_, "mtu=200"});
  const std::string in =
      trace_one(pa_, [&] { ASSERT_TRUE(a_->send(frame(kBroadcast, mac(1), 300))); });
  EXPECT_THAT(in, HasSubstr("check     dropped: oversize, payload 300 bytes over the MTU 200 of " +
                            pa_ + "\n"));
  EXPECT_THAT(in, HasSubstr("result    dropped: oversize\n"));
  const std::string out = trace_one(pb_, [&] {
    ASSERT_TRUE(b_->send(frame(kBroadcast, mac(2), 300)));
    ASSERT_TRUE(c_->recv());
  });
  EXPECT_THAT(out, HasSubstr("egress    " + pa_ +
                             ": dropped: oversize, payload 300 bytes over its MTU 200\n"));
  EXPECT_THAT(out, HasSubstr("result    sent to " + pc_ + "; lost on " + pa_ + " (oversize)\n"));
}

TEST_F(TraceTest, TheFilterAndTheCountChooseTheFrames) {
  Trace t(*vs_, tmp_.file("trace.txt"),
          {pa_, "--count", "2", "--filter", "ether src 02:00:00:00:00:07"});
  ASSERT_TRUE(t.started()) << t.err();
  for (uint8_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(a_->send(frame(kBroadcast, mac(i % 2 ? 7 : 8), 46 + i, i)));
    ASSERT_TRUE(b_->recv());
  }
  EXPECT_EQ(t.wait(), 0) << t.err();
  std::vector<std::string> headings;
  for (const std::string& l : lines_of(t.out())) {
    if (l.rfind("frame ", 0) == 0) headings.push_back(l);
  }
  EXPECT_THAT(
      headings,
      testing::ElementsAre(
          AllOf(HasSubstr("frame 1 on"), HasSubstr("02:00:00:00:00:07 >"), HasSubstr("61 bytes")),
          AllOf(HasSubstr("frame 2 on"), HasSubstr("02:00:00:00:00:07 >"), HasSubstr("63 bytes"))));
}

TEST_F(TraceTest, JsonIsOneObjectAFrame) {
  Trace t(*vs_, tmp_.file("trace.json"), {pa_, "--count", "2", "--json"});
  ASSERT_TRUE(t.started()) << t.err();
  learn_a_and_b();
  ASSERT_TRUE(a_->send(frame(mac(2), mac(1))));
  ASSERT_TRUE(b_->recv());
  EXPECT_EQ(t.wait(), 0) << t.err();
  const auto lines = lines_of(t.out());
  ASSERT_EQ(lines.size(), 2u) << t.out();
  const auto first = Value::parse_json(lines[0]);
  const auto second = Value::parse_json(lines[1]);
  ASSERT_TRUE(first && second) << t.out();
  EXPECT_EQ(first->get("frame")->as_int(), 1);
  EXPECT_EQ(second->get("port")->as_string(), pa_);
  EXPECT_EQ(second->get("src")->as_string(), "02:00:00:00:00:01");
  ASSERT_EQ(second->get("sent")->items().size(), 1u);
  EXPECT_EQ(second->get("sent")->items()[0].as_string(), pb_);
  std::vector<std::string> stages;
  for (const Value& s : second->get("steps")->items())
    stages.push_back(s.get("stage")->as_string());
  EXPECT_THAT(stages, testing::ElementsAre("classify", "check", "learn", "lookup", "policy",
                                           "egress", "transmit", "result"));
}

TEST_F(TraceTest, CtrlCEndsATraceAndOnlyOneTracesAPortAtATime) {
  {
    Trace t(*vs_, tmp_.file("trace.txt"), {pa_});
    ASSERT_TRUE(t.started()) << t.err();
    const RunResult second =
        run_program({vswitchctl_path(), "--socket", vs_->socket(), "trace", pa_}, 10s);
    EXPECT_EQ(second.status, 1);
    EXPECT_THAT(second.err, HasSubstr("port " + pa_ + " is being traced already"));
    EXPECT_EQ(t.interrupt(), 0) << t.err();
    EXPECT_EQ(t.out(), "");
  }
  // The port is free again: the next trace takes it.
  const std::string out = trace_one(pa_, [&] {
    ASSERT_TRUE(a_->send(frame(kBroadcast, mac(1))));
    ASSERT_TRUE(b_->recv());
  });
  EXPECT_THAT(out, HasSubstr("frame 1 on " + pa_));
}

TEST_F(TraceTest, SyntheticSaysWhatWouldHappenAndChangesNothing) {
  learn_a_and_b();
  const Value before = vs_->ctl({"show"});
  // The FDB's entries but for their age, which goes on.
  auto fdb = [&] {
    std::string entries;
    const Value rows = vs_->ctl({"fdb", "show", "default"});
    for (const Value& e : rows.items()) {
      entries += e.get("mac")->as_string() + " " + std::to_string(e.get("vlan")->as_int()) + " " +
                 e.get("port")->as_string() + " " + e.get("type")->as_string() + "\n";
    }
    return entries;
  };
  const std::string fdb_before = fdb();
  auto synthetic = [&](const Bytes& f) {
    return run_program(
        {vswitchctl_path(), "--socket", vs_->socket(), "trace", "--synthetic", pa_, hex(f)}, 10s);
  };
  const RunResult flood = synthetic(frame(kBroadcast, mac(5)));
  ASSERT_EQ(flood.status, 0) << flood.err;
  EXPECT_THAT(flood.out, testing::StartsWith("synthetic frame, as if it entered " + pa_ +
                                             " (segment default): 02:00:00:00:00:05 > "
                                             "ff:ff:ff:ff:ff:ff"));
  EXPECT_THAT(flood.out,
              HasSubstr("learn     02:00:00:00:00:05 in VLAN 0: new, would be learned on " + pa_));
  EXPECT_THAT(flood.out, HasSubstr("transmit  " + pb_ +
                                   ": would be handed to the port (synthetic: nothing sent)\n"));
  EXPECT_THAT(flood.out, HasSubstr("result    would go to " + pb_ + ", " + pc_ + "\n"));
  const RunResult unicast = synthetic(frame(mac(2), mac(1)));
  EXPECT_THAT(unicast.out, HasSubstr("known on " + pa_));
  EXPECT_THAT(unicast.out, HasSubstr("hit, behind " + pb_));
  const RunResult moved = synthetic(frame(mac(2), mac(2)));
  EXPECT_THAT(moved.out, HasSubstr("would be moved from " + pb_ + " to " + pa_));
  const RunResult json = run_program({vswitchctl_path(), "--socket", vs_->socket(), "--json",
                                      "trace", "--synthetic", pa_, hex(frame(mac(1), mac(2)))},
                                     10s);
  const auto v = Value::parse_json(json.out);
  ASSERT_TRUE(v) << json.out;
  EXPECT_EQ(v->get("dropped")->as_string(), "hairpin");
  EXPECT_TRUE(v->get("synthetic")->as_bool());
  // Nothing reached anyone, nothing was counted or learned.
  EXPECT_FALSE(b_->recv(300));
  EXPECT_FALSE(c_->recv(100));
  const Value after = vs_->ctl({"show"});
  EXPECT_EQ(after.get("ports")->json(), before.get("ports")->json());
  EXPECT_EQ(after.get("segments")->json(), before.get("segments")->json());
  EXPECT_EQ(fdb(), fdb_before);
}

TEST_F(TraceTest, BadRequestsAreRefusedWithTheReason) {
  auto trace = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {vswitchctl_path(), "--socket", vs_->socket(), "trace"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, 10s);
  };
  const RunResult filter = trace({pa_, "--filter", "ether hots 1"});
  EXPECT_EQ(filter.status, 1);
  EXPECT_THAT(filter.err, HasSubstr("ether hots 1"));
  EXPECT_THAT(trace({"nosuch"}).err, HasSubstr("no port named nosuch"));
  EXPECT_THAT(trace({"--synthetic", pa_, "ffz"}).err, HasSubstr("not a hex digit"));
  EXPECT_THAT(trace({"--synthetic", pa_, "fff"}).err, HasSubstr("odd number of hex digits"));
  EXPECT_THAT(trace({"--synthetic", pa_}).err, HasSubstr("usage: trace"));
  EXPECT_THAT(trace({pa_, "--count", "0"}).err, HasSubstr("--count"));
  EXPECT_TRUE(vs_->running());
}

}  // namespace
}  // namespace vswitch::test
