// Automatic promotion (Election.h).
#include "Election.h"

#include <algorithm>
#include <future>
#include <random>

#include <fmt/core.h>

#include "Failure.h"
#include "Numbers.h"
#include "Odlist.h"
#include "Replication.h"
#include "Replog.h"

namespace openoserv {

namespace {

constexpr const char* kVotePrefix = "vote:";  // meta "vote:<epoch>" -> the candidate granted
// The longest interval a region may set: an hour without its TMR server is an operator's call.
constexpr std::uint64_t kMaxAfter = 3600;

std::string vote_key(std::uint64_t epoch) { return fmt::format("{}{:020}", kVotePrefix, epoch); }

}  // namespace

std::vector<Member> electorate(db::Database& db) {
  std::vector<Member> out;
  for (const auto& r : odlist::load(db))
    out.push_back({r.address(), odlist::describe(r)});
  for (const auto& [address, host] : standbys_in(db))
    out.push_back({address, fmt::format("standby {} ({})", host, address)});
  return out;
}

std::chrono::seconds auto_promote_after(db::Database& db) {
  const auto v = db.get_meta(kMetaAutoPromote);
  return std::chrono::seconds(v ? parse_number<std::uint64_t>(*v).value_or(0) : 0);
}

std::string set_auto_promote(db::Database& db, std::string_view value) {
  if (value == "off") {
    auto t = db.begin(nullptr, "auto_promote");
    t->erase(db::Table::kMeta, kMetaAutoPromote);
    t->commit();
    return "Automatic promotion is off: a standby is promoted only by an operator (odadmin "
           "promote) or a cluster manager.";
  }
  const auto seconds = parse_number<std::uint64_t>(value);
  if (!seconds || *seconds < 1 || *seconds > kMaxAfter)
    fail(fmt::format("auto_promote '{}': say a number of seconds from 1 to {}, or off", value,
                     kMaxAfter));
  db.put_meta(kMetaAutoPromote, std::to_string(*seconds));
  return fmt::format("Automatic promotion is on: a standby that has not heard from this primary "
                     "for {} s stands for the next epoch, and is promoted once a majority of the "
                     "region's {} members confirm that the primary is gone.",
                     *seconds, electorate(db).size());
}

std::optional<std::string> Voter::refusal(const Candidacy& c, bool is_primary, bool standby) {
  const std::uint64_t known = epoch_in(db_, 0);
  if (c.epoch <= known)
    return fmt::format("it knows epoch {} already (the candidacy is for epoch {})", known, c.epoch);
  if (auto v = db_.get_meta(vote_key(c.epoch)); v && *v != c.candidate)
    return fmt::format("it voted for {} at epoch {}", *v, c.epoch);
  if (is_primary) return std::string("it is the primary, and running");
  if (standby && db_.last_seq() > c.seq)
    return fmt::format("this standby holds more (transaction {}; the candidate has {})",
                       db_.last_seq(), c.seq);
  return std::nullopt;
}

Ballot Voter::vote(const Candidacy& c, bool is_primary, bool standby,
                   const std::function<bool()>& primary_answers) {
  {
    std::lock_guard guard(mu_);
    if (auto why = refusal(c, is_primary, standby)) return {false, *why};
  }
  if (primary_answers()) return {false, "the primary answers it"};
  std::lock_guard guard(mu_);
  if (auto why = refusal(c, is_primary, standby)) return {false, *why};  // changed meanwhile
  db_.put_meta(vote_key(c.epoch), c.candidate);
  log_.line(fmt::format("^voted for the standby {} as TMR server of epoch {}: the primary does "
                        "not answer here",
                        c.candidate, c.epoch));
  return {true, ""};
}

AutoPromoter::AutoPromoter(db::Database& db, OservLog& log, Voter& voter, std::string self,
                           Hooks hooks)
    : db_(db), log_(log), voter_(voter), self_(std::move(self)), hooks_(std::move(hooks)) {}

AutoPromoter::~AutoPromoter() { stop(); }

void AutoPromoter::start() {
  thread_ = std::thread([this] { run(); });
}

void AutoPromoter::stop() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AutoPromoter::note(const std::string& outcome) {
  {
    std::lock_guard guard(mu_);
    if (outcome_ == outcome) return;
    outcome_ = outcome;
  }
  log_.line("^automatic promotion: " + outcome);
}

std::string auto_promote_status(db::Database& db) {
  const auto after = auto_promote_after(db);
  if (after.count() == 0) return "  automatic promotion: off";
  const std::size_t members = electorate(db).size();
  return fmt::format(
      "  automatic promotion: after {} s without the primary, with {} of the region's {} members",
      after.count(), majority(members), members);
}

std::vector<std::string> AutoPromoter::status() {
  std::vector<std::string> out{auto_promote_status(db_)};
  if (auto_promote_after(db_).count() == 0) return out;
  std::lock_guard guard(mu_);
  if (!outcome_.empty()) out.push_back("    last: " + outcome_);
  return out;
}

// Every `after` (and a random part of a second, so that two standbys do not stand in step):
// stands once the primary has been silent that long.
void AutoPromoter::run() {
  std::mt19937 jitter(std::random_device{}());
  for (;;) {
    auto after = auto_promote_after(db_);
    const auto [silent, in_sync] = hooks_.silence();
    auto pause = std::chrono::milliseconds(500);
    if (after.count() != 0 && silent >= after) {
      if (db_.get_meta(db::kMetaReplication) == std::string("sync") && !in_sync) {
        note("not standing: this standby was not in sync when it last heard from the primary, "
             "and could lose acknowledged commits; an operator decides (odadmin promote)");
      } else if (stand()) {
        return;
      }
      pause = after + std::chrono::milliseconds(jitter() % 1000);
    }
    std::unique_lock guard(mu_);
    if (wake_.wait_for(guard, pause, [this] { return stopping_; })) return;
  }
}

bool AutoPromoter::stand() {
  std::uint64_t epoch;
  {
    std::lock_guard guard(mu_);
    epoch = term_ = std::max(term_, epoch_in(db_, 1) + 1);
  }
  const Candidacy c{epoch, self_, db_.last_seq()};
  // Its own silence is this standby's confirmation: its vote asks nobody.
  if (Ballot own = voter_.vote(c, false, true, [] { return false; }); !own.granted) {
    std::lock_guard guard(mu_);
    term_ = epoch + 1;
    return false;
  }
  std::vector<std::future<Ballot>> answers;
  const auto members = electorate(db_);
  std::size_t granted = 1;  // its own
  std::string refusals;
  for (const auto& m : members)
    if (m.address != self_)
      answers.push_back(std::async(std::launch::async, [this, m, c] { return hooks_.ask(m, c); }));
  bool split_vote = false;
  for (std::size_t i = 0, j = 0; i < members.size(); ++i) {
    if (members[i].address == self_) continue;
    const Ballot b = answers[j++].get();
    if (b.granted) ++granted;
    else refusals += fmt::format("; {}: {}", members[i].label, b.why);
    split_vote = split_vote || b.why.find("voted for") != std::string::npos;
  }
  const std::size_t needed = majority(members.size());
  if (granted < needed) {
    note(fmt::format("epoch {}: {} of {} members confirm the primary is gone, {} needed; not "
                     "promoted{}",
                     epoch, granted, members.size(), needed, refusals));
    std::lock_guard guard(mu_);
    if (split_vote) term_ = epoch + 1;  // another standby stood too: the next try asks for more
    return false;
  }
  note(fmt::format("epoch {}: {} of {} members confirm the primary is gone ({} needed): "
                   "promoting this standby",
                   epoch, granted, members.size(), needed));
  try {
    hooks_.promote(epoch);
    return true;
  } catch (const std::exception& e) {
    note(fmt::format("epoch {}: a majority confirmed, but the promotion failed: {}", epoch,
                     e.what()));
    return false;
  }
}

}  // namespace openoserv
