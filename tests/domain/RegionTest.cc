// The region's domain without an ORB: membership, odlist edits made at the TMR server and sent
// to every node, edits that race, liveness, shutdown, a node joining after its TMR server comes
// back.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "InProcessRegion.h"

namespace openoserv {
namespace {

using testing::InProcessRegion;
using testing::eventually;

bool has_alias(LocalDispatcher& d, std::uint32_t od, const std::string& name) {
  auto rec = odlist::find(d.db, od);
  return rec && std::find(rec->hostnames.begin(), rec->hostnames.end(), name) != rec->hostnames.end();
}

TEST(Region, NodesJoinAndEveryDispatcherGetsTheOdlist) {
  InProcessRegion r("region_join");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  EXPECT_EQ(n2.info.od, 2u);
  EXPECT_EQ(n3.info.od, 3u);
  EXPECT_EQ(odlist::load(r.tmr().db).size(), 3u);
  EXPECT_TRUE(eventually([&] { return odlist::load(n2.db).size() == 3; }))
      << "node 2 never received the odlist naming node 3";
  EXPECT_NE(n3.region.link_state().find("connected to the TMR server dispatcher 1"),
            std::string::npos);
  EXPECT_THROW(r.tmr().region.register_node("dup", "127.0.0.3", 9494, false), Failure)
      << "an address and port already in the region";
  EXPECT_THROW(n2.region.register_node("x", "127.0.0.9", 9494, false), Failure)
      << "only the TMR server registers nodes";
}

TEST(Region, AnEditAtANodeIsMadeAtTheTmrServerAndSentToEveryNode) {
  InProcessRegion r("region_edit");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  const std::string msg = n3.region.edit(
      {.kind = OdlistEdit::Kind::kAddAlias, .od = 2, .ip = "127.0.0.2", .name = "black"});
  EXPECT_EQ(msg, "Host name black added to dispatcher 2 (127.0.0.2).");
  EXPECT_TRUE(has_alias(r.tmr(), 2, "black")) << "made at the TMR server";
  EXPECT_TRUE(eventually([&] { return has_alias(n2, 2, "black") && has_alias(n3, 2, "black"); }));
  n2.region.edit({.kind = OdlistEdit::Kind::kForceBind, .od = 0, .flag = true});
  for (const auto& rec : odlist::load(r.tmr().db)) EXPECT_TRUE(rec.force_bind) << rec.od;
}

TEST(Region, ConcurrentEditsLoseNoUpdate) {
  InProcessRegion r("region_race");
  r.add_node();
  auto& n3 = r.add_node();
  std::vector<std::thread> editors;
  for (int i = 0; i < 12; ++i)
    editors.emplace_back([&, i] {
      // Half from the TMR server itself, half sent there from a node.
      auto& at = i % 2 ? r.tmr() : n3;
      at.region.edit({.kind = OdlistEdit::Kind::kAddAlias, .od = 2, .ip = "127.0.0.2",
                      .name = fmt::format("alias{}", i)});
    });
  for (auto& t : editors) t.join();
  for (int i = 0; i < 12; ++i)
    EXPECT_TRUE(has_alias(r.tmr(), 2, fmt::format("alias{}", i))) << "alias" << i << " was lost";
}

TEST(Region, BadEditsAreRefusedWithTheReason) {
  InProcessRegion r("region_bad_edits");
  auto& n2 = r.add_node();
  auto refused = [&](const OdlistEdit& e, const std::string& why) {
    try {
      n2.region.edit(e);
      ADD_FAILURE() << "accepted an edit that should fail with: " << why;
    } catch (const Failure& f) {
      EXPECT_NE(std::string(f.what()).find(why), std::string::npos) << f.what();
    }
  };
  refused({.kind = OdlistEdit::Kind::kChangeIp, .od = 2, .ip = "not-an-ip"}, "not an IPv4 address");
  refused({.kind = OdlistEdit::Kind::kChangeIp, .od = 0, .ip = "10.0.0.1"}, "one dispatcher");
  refused({.kind = OdlistEdit::Kind::kChangeIp, .od = 9, .ip = "10.0.0.1"}, "not in the odlist");
  refused({.kind = OdlistEdit::Kind::kAddAlias, .od = 2, .ip = "10.9.9.9", .name = "x"},
          "has the address 127.0.0.2, not 10.9.9.9");
  refused({.kind = OdlistEdit::Kind::kDeleteAlias, .od = 2, .ip = "127.0.0.2", .name = "nosuch"},
          "has no host name nosuch");
  EXPECT_THROW(r.tmr().region.odlist_update({}), Failure) << "the TMR server's odlist is its own";
}

TEST(Region, AnEditWhileTheTmrServerIsDownNamesIt) {
  InProcessRegion r("region_tmr_down");
  auto& n2 = r.add_node();
  r.set_down(kTmrDispatcher, true);
  try {
    n2.region.edit({.kind = OdlistEdit::Kind::kForceBind, .od = 2, .flag = true});
    FAIL() << "an edit without a TMR server succeeded";
  } catch (const Failure& e) {
    EXPECT_STREQ(e.what(), "set_force_bind is made at the TMR server, and dispatcher 1 does not "
                           "answer (TRANSIENT)");
  }
}

TEST(Region, MembersShowWhoAnswers) {
  InProcessRegion r("region_members");
  r.add_node();
  r.add_node();
  r.set_down(3, true);
  const auto members = r.tmr().region.members();
  ASSERT_EQ(members.size(), 3u);
  EXPECT_TRUE(members[0].connected);
  EXPECT_TRUE(members[1].connected);
  EXPECT_FALSE(members[2].connected);
  EXPECT_THROW(r.tmr().region.ping(3), Unreachable);
  EXPECT_EQ(r.tmr().region.ping(2), "node2");
}

TEST(Region, ShutdownOfAllStopsEveryOtherDispatcherThenItself) {
  InProcessRegion r("region_shutdown");
  r.add_node();
  r.add_node();
  r.set_down(3, true);
  const std::string reply = r.tmr().region.shutdown(0, [] { return true; });
  EXPECT_EQ(r.node(2).stops, 1);
  EXPECT_EQ(r.node(3).stops, 0);
  EXPECT_EQ(r.node(kTmrDispatcher).stops, 1);
  EXPECT_NE(reply.find("Dispatcher 2 (od2) is shutting down."), std::string::npos) << reply;
  EXPECT_NE(reply.find("dispatcher 3 does not answer"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Dispatcher 1 (od1) is shutting down."), std::string::npos) << reply;
}

TEST(Region, AShutdownWhoseCallerGaveUpIsNotCarriedOut) {
  InProcessRegion r("region_shutdown_late");
  r.add_node();
  EXPECT_THROW(r.tmr().region.shutdown(kTmrDispatcher, [] { return false; }), Failure);
  EXPECT_EQ(r.node(kTmrDispatcher).stops, 0);
}

TEST(Region, ARequestArrivingAtAnotherDispatchersAddressIsNamedForIt) {
  InProcessRegion r("region_addresses");
  r.add_node();
  EXPECT_EQ(r.tmr().region.dispatcher_at("127.0.0.2", 9494), 2u);
  EXPECT_EQ(r.tmr().region.dispatcher_at("127.0.0.1", 9494), 0u) << "its own address";
  EXPECT_EQ(r.tmr().region.dispatcher_at("127.0.0.2", 9495), 0u) << "another port";
  r.tmr().region.edit({.kind = OdlistEdit::Kind::kChangeIp, .od = 2, .ip = "127.0.0.9", .flag = true});
  EXPECT_EQ(r.tmr().region.dispatcher_at("127.0.0.2", 9494), 0u) << "the odlist changed";
  EXPECT_EQ(r.tmr().region.dispatcher_at("127.0.0.9", 9494), 2u);
}

TEST(Region, ANodeStartedWithoutItsTmrServerJoinsWhenItComesBack) {
  InProcessRegion r("region_rejoin");
  auto& n2 = r.add_node();
  r.set_down(kTmrDispatcher, true);
  EXPECT_FALSE(n2.region.report_in(std::chrono::seconds(1)));
  EXPECT_EQ(n2.region.link_state().rfind("retrying since", 0), 0u) << n2.region.link_state();
  std::atomic<bool> joined{false};
  n2.region.set_on_joined([&] { joined = true; });
  n2.region.keep_link(std::chrono::seconds(1));
  r.set_down(kTmrDispatcher, false);
  EXPECT_TRUE(eventually([&] { return joined.load(); }));
  EXPECT_NE(n2.region.link_state().find("connected"), std::string::npos);
}

TEST(Region, ANodeSeesItsTmrServerGoAndComeBack) {
  InProcessRegion r("region_link");
  auto& n2 = r.add_node();
  ASSERT_TRUE(n2.region.report_in(std::chrono::seconds(1)));
  std::atomic<int> joins{0};
  n2.region.set_on_joined([&] { ++joins; });
  n2.region.keep_link(std::chrono::seconds(1));
  r.set_down(kTmrDispatcher, true);
  EXPECT_TRUE(eventually([&] { return n2.region.link_state().rfind("retrying since", 0) == 0; }))
      << n2.region.link_state();
  EXPECT_NE(n2.region.link_state().find("dispatcher 1"), std::string::npos)
      << "names the TMR server: " << n2.region.link_state();
  r.set_down(kTmrDispatcher, false);
  EXPECT_TRUE(eventually([&] { return joins.load() == 1; }));
  EXPECT_NE(n2.region.link_state().find("connected"), std::string::npos);
}

}  // namespace
}  // namespace openoserv
