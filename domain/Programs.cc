// Method programs: spawn, wait (program exit, time limit, oserv stop), escalate, ledger.
#include "Programs.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <fmt/core.h>

#include "Numbers.h"
#include "TextFile.h"
#include "Utf8.h"

extern char** environ;

namespace openoserv {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string errno_text() { return std::strerror(errno); }

// This boot of this host: a ledger written on another host (the database moved in a failover)
// or before a reboot names processes that are not ours.
std::string boot_id() {
  static const std::string id = [] {
    std::string text;
    try {
      text = read_text_file("/proc/sys/kernel/random/boot_id").value_or("unknown");
    } catch (const std::exception&) {
      text = "unknown";
    }
    text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
    return text;
  }();
  return id;
}

// The start time of process `pid` (clock ticks since boot, field 22 of /proc/PID/stat), which
// tells it apart from a later process given the same pid. Empty if it does not exist.
std::string start_time(pid_t pid) {
  std::string stat;
  try {
    stat = read_text_file(fmt::format("/proc/{}/stat", pid)).value_or("");
  } catch (const std::exception&) {
    return {};
  }
  if (stat.empty()) return {};
  // "PID (COMM) STATE PPID ...": COMM may hold anything, so count from its closing parenthesis.
  size_t at = stat.rfind(')');
  for (int field = 2; field < 22 && at != std::string::npos; ++field) at = stat.find(' ', at + 1);
  if (at == std::string::npos) return {};
  return stat.substr(at + 1, stat.find(' ', at + 1) - at - 1);
}

bool group_exists(pid_t group) { return ::kill(-group, 0) == 0 || errno == EPERM; }

// Waits until process group `group` has no member left, up to `grace`; then SIGKILLs what is
// left. Returns true if SIGKILL was needed.
bool reap_group(pid_t group, milliseconds grace) {
  const auto until = Clock::now() + grace;
  while (group_exists(group)) {
    if (Clock::now() >= until) {
      ::kill(-group, SIGKILL);
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// A program's captured output: at most 1 MiB kept, the rest read and dropped so that the
// program never blocks on a full pipe.
class Output {
 public:
  // Reads what the pipe holds now; false once it reached the end (every writer closed it).
  bool read_available(int fd) {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return true;  // EAGAIN: nothing more for now
      if (n == 0) return false;
      const size_t keep = std::min(static_cast<size_t>(n), kMax - std::min(kMax, text_.size()));
      text_.append(buf, keep);
      truncated_ |= keep < static_cast<size_t>(n);
    }
  }
  std::string take() {
    // The output leaves as a CORBA string, which peers convert from UTF-8.
    std::string out = valid_utf8(text_);
    if (truncated_) out += "\n[output truncated at 1 MiB]\n";
    return out;
  }

 private:
  static constexpr size_t kMax = 1 << 20;
  std::string text_;
  bool truncated_ = false;
};

}  // namespace

// One program's run: waits for its exit, its time limit or the oserv's stop, whichever comes
// first, and ends it (TERM, then KILL after the grace period) in the last two cases.
class Programs::Run {
 public:
  enum class Ending { kExited, kTimedOut, kStopped };

  Run(pid_t pid, int output, int stop_event, milliseconds limit, milliseconds grace)
      : pid_(pid), output_fd_(output), stop_event_(stop_event), grace_(grace),
        deadline_(Clock::now() + limit) {}

  // Returns the wait status once the program (its process group's leader) has been reaped.
  int wait() {
    UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!exited) {
      const std::string why = errno_text();
      end(Ending::kStopped);
      ::kill(-pid_, SIGKILL);
      reap();
      throw ProgramError(fmt::format("cannot watch method program {}: pidfd_open: {} (Linux "
                                     "5.3 or later is needed)", pid_, why));
    }
    while (!poll_once(exited.get())) {
    }
    output_open_ = output_open_ && output_.read_available(output_fd_);
    const int status = reap();
    if (ending_ != Ending::kExited) killed_ = reap_group(pid_, grace_) || killed_;
    return status;
  }

  Ending ending() const { return ending_; }
  bool killed() const { return killed_; }
  std::string output() { return output_.take(); }

 private:
  // One wait for any event; true once the program has exited.
  bool poll_once(int exited) {
    pollfd fds[3] = {{exited, POLLIN, 0}, {stop_event_, POLLIN, 0}, {output_fd_, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    const int n = ::poll(fds, output_open_ ? 3 : 2, static_cast<int>(std::max<long>(
                                                          0, std::min<long>(left.count(), 60000))));
    if (n < 0) return false;  // EINTR
    if (fds[2].revents) output_open_ = output_.read_available(output_fd_);
    if (fds[0].revents) return true;
    if (fds[1].revents && ending_ == Ending::kExited) end(Ending::kStopped);
    if (Clock::now() >= deadline_) {
      if (ending_ == Ending::kExited) {
        end(Ending::kTimedOut);
      } else if (!killed_) {
        ::kill(-pid_, SIGKILL);
        killed_ = true;
        deadline_ = Clock::time_point::max();
      }
    }
    return false;
  }

  void end(Ending why) {
    ending_ = why;
    ::kill(-pid_, SIGTERM);
    deadline_ = Clock::now() + grace_;
  }

  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  const pid_t pid_;
  const int output_fd_;
  const int stop_event_;
  const milliseconds grace_;
  Clock::time_point deadline_;
  Output output_;
  bool output_open_ = true;
  Ending ending_ = Ending::kExited;
  bool killed_ = false;
};

Programs::Programs(std::string ledger_dir, milliseconds limit, milliseconds grace)
    : ledger_dir_(std::move(ledger_dir)),
      limit_(limit),
      grace_(grace),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!stop_event_) throw ProgramError(fmt::format("eventfd: {}", errno_text()));
  make_directories(ledger_dir_, 0700);
}

std::vector<std::string> Programs::end_leftovers() {
  std::vector<std::string> lines;
  const std::string boot = boot_id();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(ledger_dir_, ec)) {
    const std::string path = entry.path().string();
    const auto pid = parse_number<pid_t>(entry.path().filename().string());
    std::string recorded;
    try {
      recorded = read_text_file(path).value_or("");
    } catch (const std::exception&) {
    }
    ::unlink(path.c_str());
    if (!pid || *pid <= 1 || recorded.rfind(boot + " ", 0) != 0) continue;  // not ours to end
    const std::string started = recorded.substr(boot.size() + 1, recorded.find('\n') -
                                                                     boot.size() - 1);
    const std::string now = start_time(*pid);
    // The leader alive but started at another time: its pid was given to a new process, which
    // can only happen once the whole group is gone.
    if (!now.empty() && now != started) continue;
    if (!group_exists(*pid)) continue;
    ::kill(-*pid, SIGTERM);
    const bool killed = reap_group(*pid, grace_);
    lines.push_back(fmt::format("method program {} (process group {}) left running by a previous "
                                "oserv was ended ({})",
                                *pid, *pid, killed ? "SIGTERM, then SIGKILL" : "SIGTERM"));
  }
  return lines;
}

namespace {
// util-linux's setpriv: switches ids and groups, then execs the program.
constexpr const char* kSetpriv = "/usr/bin/setpriv";
}  // namespace

std::optional<RunAs> RunAs::lookup(const std::string& user) {
  passwd entry{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwnam_r(user.c_str(), &entry, buf, sizeof buf, &found) != 0 || !found)
    throw ProgramError(fmt::format("method programs run as user {}, which does not exist on this "
                                   "host (odadmin set_method_user)",
                                   user));
  if (::geteuid() != 0 || found->pw_uid == ::geteuid()) return std::nullopt;
  return RunAs{found->pw_uid, found->pw_gid, found->pw_name, found->pw_dir};
}

pid_t Programs::spawn(const std::vector<std::string>& argv_in,
                      const std::vector<std::string>& env_in, int output_end,
                      const std::optional<RunAs>& as) {
  std::vector<std::string> argv = argv_in, env = env_in;
  if (as) {
    if (::access(kSetpriv, X_OK) != 0)
      throw ProgramError(fmt::format("cannot run method program {} as {}: {} (util-linux) is "
                                     "missing",
                                     argv[0], as->user, kSetpriv));
    argv.insert(argv.begin(), {kSetpriv, fmt::format("--reuid={}", as->uid),
                               fmt::format("--regid={}", as->gid), "--init-groups", "--"});
    env.insert(env.end(), {"USER=" + as->user, "LOGNAME=" + as->user, "HOME=" + as->home});
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output_end, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, output_end, STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The oserv blocks TERM/INT/HUP (sigwait) and ignores PIPE; a method program gets neither.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> c_argv, c_env;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  for (const auto& e : env_strings) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw ProgramError(fmt::format("cannot run method program {}: {}", argv[0], std::strerror(rc)));
  return pid;
}

// Not synced: the record only has to outlive the oserv, not the host (after a reboot the boot
// id differs). A program left unrecorded (disk full) is only not ended at the next start.
void Programs::record(pid_t pid) {
  UniqueFd fd(::open(fmt::format("{}/{}", ledger_dir_, pid).c_str(),
                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  const std::string text = fmt::format("{} {}\n", boot_id(), start_time(pid));
  if (fd && ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    // As if unrecorded.
  }
}

void Programs::forget(pid_t pid) { ::unlink(fmt::format("{}/{}", ledger_dir_, pid).c_str()); }

ProgramResult Programs::run(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, MethodThreads::Scope& scope,
                            const std::optional<RunAs>& as,
                            std::optional<std::chrono::milliseconds> limit_given) {
  const std::chrono::milliseconds limit = limit_given.value_or(limit_);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw ProgramError(fmt::format("cannot run {}: pipe: {}", argv[0], errno_text()));
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  pid_t pid;
  {
    std::lock_guard guard(mu_);
    if (stopping_)
      throw ProgramError(fmt::format("method program {} not started: the oserv is stopping",
                                     argv[0]));
    pid = spawn(argv, env, write_end.get(), as);
  }
  write_end.reset();
  record(pid);
  scope.set_pid(pid);
  struct Done {
    Programs& programs;
    pid_t pid;
    MethodThreads::Scope& scope;
    ~Done() {
      scope.set_pid(0);
      programs.forget(pid);
    }
  } done{*this, pid, scope};

  Run run(pid, read_end.get(), stop_event_.get(), limit, grace_);
  const int status = run.wait();
  const char* how = run.killed() ? "SIGTERM, then SIGKILL" : "SIGTERM";
  if (run.ending() == Run::Ending::kTimedOut)
    throw ProgramError(fmt::format("method program {} did not finish within {:g} s "
                                   "({}); it was ended ({})",
                                   argv[0], static_cast<double>(limit.count()) / 1000,
                                   limit_given ? "its limit" : "--method-timeout", how));
  if (run.ending() == Run::Ending::kStopped)
    throw ProgramError(fmt::format("method program {} was ended ({}): the oserv is stopping",
                                   argv[0], how));
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), run.output()};
}

void Programs::stop_all() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  if (::write(stop_event_.get(), &one, sizeof one) != sizeof one) {
    // Already signalled (the counter is full): the runs see it readable anyway.
  }
}

}  // namespace openoserv
