// crash_writer: the client side of the whole-stack crash test (tests/integration/crash_stack_test.sh).
//
//   crash_writer write SOCKET LOG WRITER STOPFILE
//     Runs framework transactions over the oserv's Unix socket until STOPFILE exists: begin,
//     several puts of keys unique to the transaction, sometimes a sub-transaction (committed or
//     aborted), a put of the writer's counter, then commit or abort. The oserv is killed and
//     restarted under it; every call that fails is retried on the next oserv. After each
//     transaction it appends what the database must now show to LOG, one line:
//       C key=value ...   committed (the commit was acknowledged): present with these values
//       A key ...         must be absent (aborted, a sub-transaction aborted, or never committed)
//       U key=value ...   the commit's outcome is unknown (the oserv died during it): all of
//                         these keys or none
//   crash_writer check SOCKET LOG...
//     Checks the database against the logs; prints a summary; exit 1 on any violation.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "OrbInit.h"
#include "oserv.hh"

using namespace openoserv;

namespace {

using Dispatcher = OServ::Dispatcher_var;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

Dispatcher connect(CORBA::ORB_ptr orb, const std::string& socket) {
  CORBA::Object_var obj =
      orb->string_to_object(fmt::format("corbaloc:omniunix:{}:/Dispatcher", socket).c_str());
  Dispatcher d = OServ::Dispatcher::_unchecked_narrow(obj);
  omniORB::setClientCallTimeout(d, 5000);
  return d;
}

// The oserv did not answer (killed, restarting): as opposed to refusing the request.
bool unreachable(const CORBA::SystemException& e) {
  const std::string name = e._name();
  return name == "TRANSIENT" || name == "COMM_FAILURE" || name == "OBJECT_NOT_EXIST" ||
         name == "TIMEOUT";
}

class Writer {
 public:
  Writer(OServ::Dispatcher_ptr d, const std::string& log, int id)
      : d_(OServ::Dispatcher::_duplicate(d)),
        log_(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)),
        id_(id),
        rng_(static_cast<unsigned>(id) * 7919u + static_cast<unsigned>(::getpid())) {}

  // One transaction, logged. Returns false when the oserv did not answer (the caller waits).
  bool once() {
    ++seq_;
    KeyValues present;
    std::vector<std::string> absent;
    CORBA::ULongLong txn = 0;
    try {
      txn = d_->txn_begin(0, fmt::format("writer {}", id_).c_str());
    } catch (const CORBA::SystemException& e) {
      if (!unreachable(e)) throw;
      return false;
    }
    const bool commit = rng_() % 4 != 0;
    try {
      for (int j = 0, n = 1 + static_cast<int>(rng_() % 4); j < n; ++j)
        put(txn, fmt::format("w{}.{}.{}", id_, seq_, j), fmt::format("v{}", seq_), present);
      if (rng_() % 2) sub_transaction(txn, present, absent);
      put(txn, fmt::format("w{}.counter", id_), std::to_string(seq_), present);
    } catch (const CORBA::SystemException& e) {
      if (!unreachable(e)) throw;
      // Never committed: the oserv rolls it back when it starts again.
      log_line('A', {}, present, absent);
      return false;
    } catch (const OServ::Failed&) {
      // The oserv restarted since the begin: it does not know the transaction, lost with the
      // one that was killed.
      log_line('A', {}, present, absent);
      return false;
    }
    if (!commit) return finish_abort(txn, present, absent);
    try {
      d_->txn_commit(txn);
    } catch (const CORBA::SystemException& e) {
      if (!unreachable(e)) throw;
      log_line('U', present, {}, absent);
      return false;
    } catch (const OServ::Failed&) {
      // Sent to an oserv started since the begin, which does not know the transaction: it was
      // lost uncommitted with the one killed. (A commit that fails rolls back too.)
      log_line('A', {}, present, absent);
      return false;
    }
    log_line('C', present, {}, absent);
    return true;
  }

 private:
  void put(CORBA::ULongLong txn, const std::string& key, const std::string& value,
           KeyValues& present) {
    d_->txn_put(txn, "objects", key.c_str(), value.c_str());
    present.emplace_back(key, value);
  }

  // A sub-transaction: its keys fold into the parent on commit, and are absent after an abort
  // whatever the parent does.
  void sub_transaction(CORBA::ULongLong parent, KeyValues& present,
                       std::vector<std::string>& absent) {
    const CORBA::ULongLong sub = d_->txn_begin(parent, "sub");
    KeyValues own;
    for (int j = 0, n = 1 + static_cast<int>(rng_() % 2); j < n; ++j)
      put(sub, fmt::format("w{}.{}.s{}", id_, seq_, j), "sub", own);
    if (rng_() % 2) {
      d_->txn_commit(sub);
      present.insert(present.end(), own.begin(), own.end());
    } else {
      d_->txn_abort(sub);
      for (const auto& [k, v] : own) absent.push_back(k);
    }
  }

  bool finish_abort(CORBA::ULongLong txn, KeyValues& present, std::vector<std::string>& absent) {
    bool answered = true;
    try {
      d_->txn_abort(txn);
    } catch (const CORBA::SystemException& e) {
      if (!unreachable(e)) throw;
      answered = false;  // aborted, or rolled back at the restart: absent either way
    } catch (const OServ::Failed&) {
      answered = false;  // lost with the oserv killed since the begin
    }
    log_line('A', {}, present, absent);
    return answered;
  }

  // The counter key is overwritten by every transaction: it is "present" only with a commit.
  void log_line(char kind, const KeyValues& present, const KeyValues& not_committed,
                const std::vector<std::string>& absent) {
    std::string line(1, kind);
    for (const auto& [k, v] : present) line += fmt::format(" {}={}", k, v);
    for (const auto& [k, v] : not_committed)
      if (k.find(".counter") == std::string::npos) line += " " + k;
    for (const auto& k : absent) line += " " + k;
    line += '\n';
    if (::write(log_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("cannot write the client log");
  }

  OServ::Dispatcher_var d_;
  int log_;
  int id_;
  long seq_ = 0;
  std::mt19937 rng_;
};

int write(CORBA::ORB_ptr orb, const std::string& socket, const std::string& log, int id,
          const std::string& stop_file) {
  Dispatcher d = connect(orb, socket);
  Writer w(d, log, id);
  long done = 0;
  // Paced (5 ms between transactions) so that the check stays short at hundreds of kills; four
  // writers still keep several transactions open at every kill.
  while (!std::filesystem::exists(stop_file)) {
    if (w.once())
      ++done;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::cout << fmt::format("writer {}: {} transactions acknowledged\n", id, done);
  return 0;
}

// What the logs say, per key: its committed value, values of commits of unknown outcome, and
// whether it must be absent. Per unknown commit, its keys (all or none applied).
struct Expected {
  std::map<std::string, std::string> committed;
  std::map<std::string, std::vector<std::string>> maybe;
  std::vector<std::string> absent;
  std::vector<KeyValues> unknown_groups;
};

void read_log(const std::string& path, Expected& x) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, word;
    words >> kind;
    KeyValues group;
    while (words >> word) {
      const size_t eq = word.find('=');
      if (eq == std::string::npos) {
        x.absent.push_back(word);
        continue;
      }
      const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
      if (kind == "C") {
        x.committed[key] = value;
        x.maybe.erase(key);  // a later acknowledged commit settles an earlier unknown one
      } else {
        x.maybe[key].push_back(value);
        group.emplace_back(key, value);
      }
    }
    if (kind == "U") x.unknown_groups.push_back(group);
  }
}

int check(CORBA::ORB_ptr orb, const std::string& socket, const std::vector<std::string>& logs) {
  Expected x;
  for (const auto& log : logs) read_log(log, x);
  Dispatcher d = connect(orb, socket);
  const CORBA::ULongLong txn = d->txn_begin(0, "crash check");
  auto get = [&](const std::string& key) -> std::optional<std::string> {
    CORBA::Boolean found = false;
    CORBA::String_var v = d->txn_get(txn, "objects", key.c_str(), found);
    return found ? std::optional<std::string>(v.in()) : std::nullopt;
  };
  long violations = 0;
  auto violation = [&](const std::string& what) {
    if (++violations <= 20) std::cerr << "VIOLATION: " << what << "\n";
  };
  for (const auto& [key, value] : x.committed) {
    const auto got = get(key);
    const auto& later = x.maybe[key];
    const bool ok = (got == value) ||
                    (got && std::find(later.begin(), later.end(), *got) != later.end());
    if (!ok)
      violation(fmt::format("acknowledged {}={} reads {}", key, value, got.value_or("(absent)")));
  }
  for (const auto& key : x.absent)
    if (!x.committed.count(key) && !x.maybe.count(key))
      if (const auto got = get(key)) violation(fmt::format("{} should not exist, reads {}", key, *got));
  long applied = 0;
  for (const auto& group : x.unknown_groups) {
    long present = 0, counted = 0;
    for (const auto& [key, value] : group) {
      if (key.find(".counter") != std::string::npos || x.committed.count(key)) continue;
      ++counted;
      present += get(key) == value;
    }
    if (present != 0 && present != counted)
      violation(fmt::format("a commit of unknown outcome is partly applied ({} of {} keys)",
                            present, counted));
    applied += present != 0;
  }
  d->txn_abort(txn);
  std::cout << fmt::format("checked: {} keys of acknowledged commits, {} keys that must not "
                           "exist, {} commits of unknown outcome ({} applied); {} violation(s)\n",
                           x.committed.size(), x.absent.size(), x.unknown_groups.size(), applied,
                           violations);
  return violations ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    CORBA::ORB_var orb = init_orb("crash_writer", {{"clientConnectTimeOutPeriod", "2000"}});
    if (args.size() == 5 && args[0] == "write")
      return write(orb, args[1], args[2], std::stoi(args[3]), args[4]);
    if (args.size() >= 3 && args[0] == "check")
      return check(orb, args[1], {args.begin() + 2, args.end()});
  } catch (const CORBA::Exception& e) {
    std::cerr << "crash_writer: CORBA " << e._name() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "crash_writer: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: crash_writer write SOCKET LOG WRITER STOPFILE | check SOCKET LOG...\n";
  return 2;
}
