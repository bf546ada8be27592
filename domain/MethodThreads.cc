// Method thread registry and method program runner.
#include "MethodThreads.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "Database.h"
#include "UniqueFd.h"
#include "Utf8.h"

extern char** environ;

namespace openoserv {

MethodThreads::Scope::Scope(MethodThreads& threads, std::string oid, std::string method,
                            std::string state)
    : threads_(threads) {
  std::lock_guard guard(threads.mu_);
  id_ = threads.next_id_++;
  threads.threads_[id_] = Entry{Info{id_, std::move(state), {}, std::move(oid), std::move(method), 0},
                                std::chrono::system_clock::now()};
}

MethodThreads::Scope::~Scope() {
  std::lock_guard guard(threads_.mu_);
  threads_.threads_.erase(id_);
}

void MethodThreads::Scope::set_pid(pid_t pid) {
  std::lock_guard guard(threads_.mu_);
  threads_.threads_[id_].info.pid = pid;
}

std::vector<MethodThreads::Info> MethodThreads::list() {
  std::lock_guard guard(mu_);
  std::vector<Info> out;
  for (const auto& [id, entry] : threads_) {
    out.push_back(entry.info);
    out.back().started = db::format_time(entry.started);
  }
  return out;
}

std::vector<std::pair<MethodThreads::Info, long>> MethodThreads::older_than(
    std::chrono::seconds limit) {
  std::lock_guard guard(mu_);
  const auto now = std::chrono::system_clock::now();
  std::vector<std::pair<Info, long>> out;
  for (const auto& [id, entry] : threads_) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - entry.started);
    if (age > limit) {
      out.emplace_back(entry.info, static_cast<long>(age.count()));
      out.back().first.started = db::format_time(entry.started);
    }
  }
  return out;
}

void MethodThreads::terminate_programs() {
  std::lock_guard guard(mu_);
  for (const auto& [id, entry] : threads_)
    if (entry.info.pid > 0) ::kill(-entry.info.pid, SIGTERM);
}

ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env, MethodThreads::Scope& scope) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::runtime_error(fmt::format("cannot run {}: pipe: {}", argv[0], std::strerror(errno)));
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
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
  write_end.reset();
  if (rc != 0) {
    throw std::runtime_error(fmt::format("cannot run method program {}: {}", argv[0],
                                         std::strerror(rc)));
  }
  scope.set_pid(pid);
  constexpr size_t kMaxOutput = 1 << 20;
  ProgramResult result{0, {}};
  bool truncated = false;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < kMaxOutput)
      result.output.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - result.output.size()));
    else
      truncated = true;
  }
  read_end.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  scope.set_pid(0);
  // The output leaves as a CORBA string, which peers convert from UTF-8.
  result.output = valid_utf8(result.output);
  if (truncated) result.output += "\n[output truncated at 1 MiB]\n";
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace openoserv
