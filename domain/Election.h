// Automatic promotion of a standby TMR server: safe, or absent (docs/REPLICATION.md).
//
// A standby that has not heard from its primary for the region's auto_promote interval stands
// for the region's next epoch, and promotes itself only if a majority of the region's members
// -- every dispatcher of the odlist, the primary included, and every standby -- grant it their
// vote. A member grants one only when dispatcher 1 does not answer it either, votes once per
// epoch (meta "vote:<epoch>", kept across restarts), never for an epoch it knows already, and
// (a standby) never for a candidate that holds fewer transactions than it does. So the two
// sides of a partition cannot both promote (at most one holds a majority; the primary's own
// side never votes against a primary it reaches), and two standbys cannot both win one epoch.
// What decides the majority is the region as the standby's copy of the database records it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "Database.h"
#include "OservLog.h"

namespace openoserv {

// Region setting (replicated): seconds without the primary before a standby stands; absent: off.
inline constexpr const char* kMetaAutoPromote = "auto_promote";

struct Candidacy {
  std::uint64_t epoch = 0;
  std::string candidate;  // "ip:port" of the standby
  std::uint64_t seq = 0;  // the last transaction it holds
};

struct Ballot {
  bool granted = false;
  std::string why;  // why not
};

// A member of the region: a dispatcher of the odlist or a standby.
struct Member {
  std::string address;  // "ip:port"
  std::string label;    // for messages
};
std::vector<Member> electorate(db::Database& db);
constexpr std::size_t majority(std::size_t members) { return members / 2 + 1; }

// The auto_promote interval (0: off).
std::chrono::seconds auto_promote_after(db::Database& db);
// The status line (odadmin replication, either side): off, or after how long and with how many.
std::string auto_promote_status(db::Database& db);
// At the primary: "SECONDS" or "off". Returns the operator message.
std::string set_auto_promote(db::Database& db, std::string_view value);

// A member's side: whether it grants its vote to a candidacy.
class Voter {
 public:
  explicit Voter(db::Database& db, OservLog& log) : db_(db), log_(log) {}
  // `is_primary`: this is the running primary (it never votes). `standby`: this member is a
  // standby (what it holds counts). `primary_answers`: whether dispatcher 1 answers this member
  // now (asked only when nothing else refuses the vote, outside the lock).
  Ballot vote(const Candidacy& c, bool is_primary, bool standby,
              const std::function<bool()>& primary_answers);

 private:
  std::optional<std::string> refusal(const Candidacy& c, bool is_primary, bool standby);  // mu_ held
  db::Database& db_;
  OservLog& log_;
  std::mutex mu_;  // one vote at a time: read, decide and record it
};

// A standby's side: one thread that stands for promotion once the primary is silent long
// enough, and promotes once a majority grants it.
class AutoPromoter {
 public:
  struct Hooks {
    // How long the primary has been silent, and whether this standby was in sync when it last
    // heard from it.
    std::function<std::pair<std::chrono::steady_clock::duration, bool>()> silence;
    // The member's answer to the candidacy (a Ballot saying why when it cannot be asked).
    std::function<Ballot(const Member&, const Candidacy&)> ask;
    // Won: promote to the candidacy's epoch (throws Failure when that cannot be done now).
    std::function<void(std::uint64_t epoch)> promote;
  };
  AutoPromoter(db::Database& db, OservLog& log, Voter& voter, std::string self, Hooks hooks);
  ~AutoPromoter();
  AutoPromoter(const AutoPromoter&) = delete;
  AutoPromoter& operator=(const AutoPromoter&) = delete;

  void start();
  void stop();
  std::vector<std::string> status();
  // One candidacy now (whatever the silence); whether it won. For the thread and tests.
  bool stand();

 private:
  void run();
  void note(const std::string& outcome);  // logged when it changes

  db::Database& db_;
  OservLog& log_;
  Voter& voter_;
  const std::string self_;
  Hooks hooks_;
  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t term_ = 0;  // the lowest epoch the next candidacy may ask for
  std::string outcome_;
  std::thread thread_;
};

}  // namespace openoserv
