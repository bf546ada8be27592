// The Endpoint Manager without an ORB: an initial login makes an endpoint object assigned to the
// gateway it arrived at, with a key; a label is one endpoint's; an isolated login with the key
// moves it once; an orphan and a wrong key are refused; alternates are the least loaded
// gateways; migrate and delete; a node keeps no endpoint records.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "DatabaseCheck.h"
#include "InProcessRegion.h"

namespace openoserv {
namespace {

using testing::InProcessRegion;

EndpointManager::Login initial(const std::string& label, const std::string& via) {
  return {.kind = "initial", .label = label, .oid = "", .key = "", .interp = "linux-x86_64",
          .address = "127.0.0.9", .via = via, .now = 1000};
}

void add_gateways(EndpointManager& epm, int n) {
  for (int i = 1; i <= n; ++i)
    epm.add_gateway({.label = fmt::format("gw{}", i), .oid = fmt::format("x.{}.2", i),
                     .od = static_cast<std::uint32_t>(i), .host = fmt::format("127.0.0.{}", i),
                     .port = 9494});
}

TEST(EndpointManager, InitialLoginMakesAnEndpointOfTheGatewayItReached) {
  InProcessRegion r("epm_initial");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 3);
  const auto a = epm.login(initial("brown", "gw2"));
  EXPECT_EQ(a.gateway.label, "gw2");
  EXPECT_EQ(a.key.size(), 32u);
  EXPECT_NE(a.endpoint.oid.find("#TMF_Endpoint::Endpoint#"), std::string::npos);
  EXPECT_EQ(r.tmr().objects.lookup("Endpoint", "brown"), a.endpoint.oid);
  ASSERT_EQ(a.alternates.size(), 2u);
  EXPECT_EQ(epm.endpoint("brown")->gateway, "gw2");
  EXPECT_EQ(epm.endpoint(a.endpoint.oid)->label, "brown");
  auto elsewhere = initial("brown", "gw1");
  elsewhere.address = "127.0.0.10";
  EXPECT_THROW(epm.login(elsewhere), Failure) << "a label is one endpoint's";
  // From the same address, never heard from since: its lcfd stopped before it saved lcf.dat.
  // The same object, a new key.
  const auto again = epm.login(initial("brown", "gw2"));
  EXPECT_EQ(again.endpoint.oid, a.endpoint.oid);
  EXPECT_NE(again.key, a.key);
  epm.endpoints_seen("gw2", {{a.endpoint.oid, "127.0.0.9", 1001}});
  EXPECT_THROW(epm.login(initial("brown", "gw2")), Failure) << "once it logged in, it is taken";
  EXPECT_THROW(epm.login(initial("black", "nosuch")), Failure);
  EXPECT_THROW(epm.login(initial("bad/label", "gw1")), Failure);
  // The least loaded gateways come first among the alternates.
  const auto b = epm.login(initial("black", "gw1"));
  ASSERT_EQ(b.alternates.size(), 2u);
  EXPECT_EQ(b.alternates[0].label, "gw3");
}

// The alternates' load is kept by the logins and counted again after any other change.
TEST(EndpointManager, AlternatesFollowTheLoadThroughEveryChange) {
  InProcessRegion r("epm_load");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 3);
  auto labels = [](const EndpointManager::Assignment& a) {
    std::vector<std::string> out;
    for (const auto& g : a.alternates) out.push_back(g.label);
    return out;
  };
  using V = std::vector<std::string>;
  epm.login(initial("e1", "gw1"));
  epm.login(initial("e2", "gw1"));
  const auto e3 = epm.login(initial("e3", "gw2"));
  EXPECT_EQ(labels(e3), (V{"gw3", "gw1"}));  // gw3: 0, gw1: 2
  EXPECT_EQ(labels(epm.login(initial("e4", "gw1"))), (V{"gw3", "gw2"}));
  // An administrator's migrations (not a login): gw1 0, gw2 1, gw3 3.
  for (const char* e : {"e1", "e2", "e4"}) epm.migrate(e, "gw3");
  EXPECT_EQ(labels(epm.login(initial("e5", "gw2"))), (V{"gw1", "gw3"}));
  // An isolated login moves e3 from gw2 to gw1: gw1 1, gw2 1, gw3 3.
  EndpointManager::Login isolated{.kind = "isolated", .label = "e3", .oid = e3.endpoint.oid,
                                  .key = e3.key, .interp = "linux-x86_64",
                                  .address = "127.0.0.9", .via = "gw1", .now = 2000};
  EXPECT_EQ(labels(epm.login(isolated)), (V{"gw2", "gw3"}));
  EXPECT_EQ(labels(epm.login(initial("e6", "gw1"))), (V{"gw2", "gw3"}));  // gw1 2
  // gw2's 1 comes before gw1's 2 only if e3's leaving gw2 was counted.
  EXPECT_EQ(labels(epm.login(initial("e7", "gw3"))), (V{"gw2", "gw1"}));  // gw3 4
  // Deletions: gw3 is down to 1 (e7).
  for (const char* e : {"e1", "e2", "e4"}) epm.remove_endpoint(e);
  EXPECT_EQ(labels(epm.login(initial("e8", "gw2"))), (V{"gw3", "gw1"}));
  EXPECT_EQ(epm.load_counts(), 1u) << "every change was kept, none counted again";
}

// Logins at the same time (a storm through several gateways) keep the counts without reading
// every record again, and the counts are those of the table.
TEST(EndpointManager, ConcurrentLoginsKeepTheLoadWithoutCountingAgain) {
  InProcessRegion r("epm_load_storm");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 4);
  constexpr int kThreads = 4, kEach = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&epm, t] {
      for (int i = 0; i < kEach; ++i)
        epm.login(initial(fmt::format("s{}_{}", t, i), fmt::format("gw{}", t % 3 + 1)));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(epm.load_counts(), 1u);
  // gw1 has 80 (threads 0 and 3), gw2 and gw3 40 each, gw4 none: a login at gw2 is offered gw4
  // first and gw1 last, whatever order the logins committed in.
  const auto a = epm.login(initial("last", "gw2"));
  ASSERT_EQ(a.alternates.size(), 3u);
  EXPECT_EQ(a.alternates[0].label, "gw4");
  EXPECT_EQ(a.alternates[1].label, "gw3");
  EXPECT_EQ(a.alternates[2].label, "gw1");
  EXPECT_EQ(epm.endpoints("gw1").size(), 80u);
}

TEST(EndpointManager, AnIsolatedLoginMovesTheEndpointOnceWithItsKey) {
  InProcessRegion r("epm_isolated");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 2);
  const auto a = epm.login(initial("brown", "gw1"));
  EndpointManager::Login isolated{.kind = "isolated", .label = "brown", .oid = a.endpoint.oid,
                                  .key = a.key, .interp = "linux-x86_64", .address = "127.0.0.9",
                                  .via = "gw2", .now = 2000};
  auto wrong = isolated;
  wrong.key = std::string(32, '0');
  EXPECT_THROW(epm.login(wrong), Failure);
  EXPECT_EQ(epm.login(isolated).gateway.label, "gw2");
  EXPECT_EQ(epm.login(isolated).endpoint.migrations, 1u) << "a second login there is no move";
  EXPECT_EQ(epm.endpoint("brown")->last_login, 2000);
  auto orphan = isolated;
  orphan.oid = "1669180253.1.999#TMF_Endpoint::Endpoint#";
  try {
    epm.login(orphan);
    ADD_FAILURE() << "an orphan was taken";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("orphan"), std::string::npos) << e.what();
  }
}

TEST(EndpointManager, MigrateDeleteAndGateways) {
  InProcessRegion r("epm_admin");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 2);
  EXPECT_THROW(epm.add_gateway({.label = "gw9", .oid = "x", .od = 2, .host = "127.0.0.1",
                                .port = 9494}),
               Failure)
      << "an address is one gateway's";
  epm.login(initial("brown", "gw1"));
  EXPECT_THROW(epm.delete_gateway("gw1"), Failure);
  EXPECT_EQ(epm.migrate("brown", "gw2").gateway, "gw2");
  EXPECT_EQ(epm.endpoints("gw2").size(), 1u);
  epm.delete_gateway("gw1");
  EXPECT_EQ(epm.gateways().size(), 1u);
  epm.remove_endpoint("brown");
  EXPECT_FALSE(epm.endpoint("brown"));
  EXPECT_THROW(r.tmr().objects.lookup("Endpoint", "brown"), Failure);
  // The label is free again.
  EXPECT_EQ(epm.login(initial("brown", "gw2")).gateway.label, "gw2");
  auto& node = r.add_node();
  EXPECT_THROW(node.endpoint_manager.login(initial("x", "gw2")), Failure);
}

TEST(EndpointManager, LoginInterfacesAreRecordedAndSentWithTheNextGrant) {
  InProcessRegion r("epm_interfaces");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 2);
  const auto brown = epm.login(initial("brown", "gw1"));
  epm.login(initial("green", "gw2"));
  // No gateway process answers here: each endpoint is recorded and "not reached now".
  const auto lines = epm.set_login_interfaces("", "gw1", "10.0.0.3+9494:10.0.0.4");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("brown: login interfaces 10.0.0.3+9494:10.0.0.4: not reached now"),
            std::string::npos) << lines[0];
  EXPECT_EQ(epm.endpoint("brown")->login_interfaces, "10.0.0.3+9494:10.0.0.4");
  EXPECT_EQ(epm.endpoint("green")->login_interfaces, "") << "only gw1's endpoints";
  const auto moved = epm.login({.kind = "isolated", .oid = brown.endpoint.oid, .key = brown.key,
                                .interp = "linux-x86_64", .address = "127.0.0.9", .via = "gw2",
                                .now = 2000});
  EXPECT_EQ(moved.endpoint.login_interfaces, "10.0.0.3+9494:10.0.0.4") << "sent with the grant";
  EXPECT_THROW(epm.set_login_interfaces("brown", "", "gw1::gw2"), Failure);
  EXPECT_THROW(epm.set_login_interfaces("brown", "", ""), Failure);
  EXPECT_THROW(epm.set_login_interfaces("brown", "gw1", "gw1"), Failure) << "one or the other";
  EXPECT_THROW(epm.set_login_interfaces("nobody", "", "gw1"), Failure);
  EXPECT_EQ(epm.endpoint("brown")->login_interfaces, "10.0.0.3+9494:10.0.0.4")
      << "a refused change changes nothing";
}

TEST(EndpointManager, AnEndpointRecordWithoutItsObjectIsReportedByTheCheck) {
  InProcessRegion r("epm_check");
  auto& epm = r.tmr().endpoint_manager;
  add_gateways(epm, 1);
  const auto a = epm.login(initial("brown", "gw1"));
  EXPECT_TRUE(check_database(r.tmr().db).empty());
  auto txn = r.tmr().db.begin(nullptr, "damage");
  txn->erase(db::Table::kObjects, Oid::parse(a.endpoint.oid).key());
  txn->commit();
  const auto problems = check_database(r.tmr().db);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.front().find("has no object"), std::string::npos) << problems.front();
}

}  // namespace
}  // namespace openoserv
