// Automatic promotion without an ORB: a member's vote (once per epoch, never while the primary
// answers it, never to a standby that holds less), the majority a candidacy needs, and two
// standbys standing at once against the same members: at most one wins an epoch.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <fmt/core.h>

#include "Election.h"
#include "Odlist.h"
#include "Replication.h"
#include "Replog.h"

namespace openoserv {
namespace {

using namespace std::chrono_literals;

class ElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fmt::format("{}/election-{}-{}", ::testing::TempDir(), ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
    log_.open(base_ + "/oservlog");
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  // A member's database: region 1, at epoch 1, with the TMR server, `nodes` managed nodes
  // (10.0.0.2.. : 94) and the standbys `standbys` ("ip:port").
  std::unique_ptr<db::Database> open(const std::string& name, int nodes = 4,
                                     std::vector<std::string> standbys = {"10.0.0.50:94"}) {
    auto db = db::Database::open(base_ + "/" + name, {.create = true, .sync = false, .owner_id = name});
    db->put_meta(db::kMetaRegion, "1669180253");
    db->put_meta(db::kMetaReplEpoch, "1");
    auto t = db->begin();
    odlist::lock(*t);
    for (int od = 1; od <= nodes + 1; ++od)
      odlist::put(*t, OdRecord{.od = static_cast<std::uint32_t>(od), .port = 94,
                               .ip = fmt::format("10.0.0.{}", od), .hostnames = {fmt::format("h{}", od)}});
    for (const auto& s : standbys) t->put(db::Table::kMeta, kStandbyPrefix + s, "sb");
    t->commit();
    return db;
  }
  std::string base_;
  OservLog log_;
};

const auto kGone = [] { return false; };

TEST_F(ElectionTest, AMemberVotesOncePerEpochAndRemembers) {
  auto db = open("node");
  Voter voter(*db, log_);
  EXPECT_TRUE(voter.vote({2, "10.0.0.50:94", 7}, false, false, kGone).granted);
  EXPECT_TRUE(voter.vote({2, "10.0.0.50:94", 7}, false, false, kGone).granted) << "same candidate";
  const Ballot other = voter.vote({2, "10.0.0.51:94", 9}, false, false, kGone);
  EXPECT_FALSE(other.granted);
  EXPECT_NE(other.why.find("voted for 10.0.0.50:94 at epoch 2"), std::string::npos) << other.why;
  EXPECT_TRUE(voter.vote({3, "10.0.0.51:94", 9}, false, false, kGone).granted) << "a later epoch";
  // Kept in the database (across restarts), and never replicated: a vote is this member's own.
  Voter again(*db, log_);
  EXPECT_FALSE(again.vote({2, "10.0.0.51:94", 9}, false, false, kGone).granted);
  EXPECT_FALSE(db::replicated_key(db::Table::kMeta, "vote:00000000000000000002"));
  EXPECT_TRUE(db::replicated_key(db::Table::kMeta, kMetaAutoPromote));
}

TEST_F(ElectionTest, NoVoteWhileThePrimaryAnswersOrForAKnownEpoch) {
  auto db = open("node");
  Voter voter(*db, log_);
  Ballot b = voter.vote({2, "10.0.0.50:94", 7}, false, false, [] { return true; });
  EXPECT_FALSE(b.granted);
  EXPECT_EQ(b.why, "the primary answers it");
  EXPECT_FALSE(db->get_meta("vote:00000000000000000002")) << "a refusal records nothing";
  b = voter.vote({1, "10.0.0.50:94", 7}, false, false, kGone);
  EXPECT_FALSE(b.granted);
  EXPECT_NE(b.why.find("knows epoch 1 already"), std::string::npos) << b.why;
  b = voter.vote({2, "10.0.0.50:94", 7}, true, false, kGone);
  EXPECT_FALSE(b.granted);
  EXPECT_EQ(b.why, "it is the primary, and running");
}

TEST_F(ElectionTest, AStandbyVotesOnlyForOneHoldingAsMuch) {
  auto db = open("standby");
  for (int i = 0; i < 3; ++i) {  // gives it a last transaction through the log
    db->set_replog(true, 1);
    db->put_meta(fmt::format("x{}", i), "y");
  }
  const std::uint64_t mine = db->last_seq();
  ASSERT_GT(mine, 0u);
  Voter voter(*db, log_);
  const Ballot b = voter.vote({2, "10.0.0.51:94", mine - 1}, false, true, kGone);
  EXPECT_FALSE(b.granted);
  EXPECT_NE(b.why.find("this standby holds more"), std::string::npos) << b.why;
  EXPECT_TRUE(voter.vote({2, "10.0.0.51:94", mine}, false, true, kGone).granted);
}

// Six members (the TMR server, four nodes, the standby): four votes are needed.
TEST_F(ElectionTest, NoMajorityNoPromotion) {
  auto db = open("standby");
  Voter voter(*db, log_);
  std::set<std::string> reachable = {"10.0.0.2:94", "10.0.0.3:94"};
  std::atomic<std::uint64_t> promoted{0};
  AutoPromoter promoter(*db, log_, voter, "10.0.0.50:94",
                        {.silence = [] { return std::pair{std::chrono::steady_clock::duration(1h), true}; },
                         .ask = [&](const Member& m, const Candidacy&) {
                           return reachable.count(m.address) ? Ballot{true, ""}
                                                             : Ballot{false, "does not answer"};
                         },
                         .promote = [&](std::uint64_t epoch) { promoted = epoch; }});
  EXPECT_EQ(electorate(*db).size(), 6u);
  EXPECT_EQ(majority(6), 4u);
  EXPECT_FALSE(promoter.stand()) << "3 of 6";
  EXPECT_EQ(promoted.load(), 0u);
  reachable.insert("10.0.0.4:94");
  EXPECT_TRUE(promoter.stand()) << "4 of 6";
  EXPECT_EQ(promoted.load(), 2u) << "the region's next epoch";
}

// Two standbys stand at once, each asking the same five other members (whose votes are real
// Voters): at most one wins any epoch, and one wins eventually.
TEST_F(ElectionTest, TwoStandbysNeverWinTheSameEpoch) {
  const std::vector<std::string> standbys = {"10.0.0.50:94", "10.0.0.51:94"};
  std::vector<std::unique_ptr<db::Database>> dbs;
  std::vector<std::unique_ptr<Voter>> voters;
  for (int i = 0; i < 7; ++i) {
    dbs.push_back(open(fmt::format("m{}", i), 4, standbys));
    voters.push_back(std::make_unique<Voter>(*dbs.back(), log_));
  }
  // Members 0 and 1 are the standbys; 2..6 stand for the TMR server (down) and the four nodes.
  std::mutex mu;
  std::map<std::uint64_t, std::set<std::string>> winners;
  std::vector<std::unique_ptr<AutoPromoter>> promoters;
  for (int s = 0; s < 2; ++s)
    promoters.push_back(std::make_unique<AutoPromoter>(
        *dbs[s], log_, *voters[s], standbys[s],
        AutoPromoter::Hooks{
            .silence = [] { return std::pair{std::chrono::steady_clock::duration(1h), true}; },
            .ask = [&, s](const Member& m, const Candidacy& c) {
              if (m.address == "10.0.0.1:94") return Ballot{false, "does not answer"};
              const auto it = std::find(standbys.begin(), standbys.end(), m.address);
              const std::size_t i = it != standbys.end() ? it - standbys.begin()
                                                         : std::stoul(m.address.substr(7)) + 1;
              return voters[i]->vote(c, false, i < 2, kGone);
            },
            .promote = [&, s](std::uint64_t epoch) {
              std::lock_guard guard(mu);
              winners[epoch].insert(standbys[s]);
            }}));
  for (int round = 0; round < 20 && winners.empty(); ++round) {
    std::thread a([&] { promoters[0]->stand(); });
    std::thread b([&] { promoters[1]->stand(); });
    a.join();
    b.join();
  }
  ASSERT_FALSE(winners.empty()) << "nobody won in 20 rounds";
  for (const auto& [epoch, who] : winners) EXPECT_EQ(who.size(), 1u) << "epoch " << epoch;
}

}  // namespace
}  // namespace openoserv
