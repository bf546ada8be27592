// Method programs: a call ends when its program exits, a program past its limit or running at a
// stop is ended (TERM, then KILL of its process group), and the ledger lets the next start end
// the programs a killed oserv left, and only those.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <fmt/core.h>

#include "Programs.h"
#include "TextFile.h"

namespace openoserv {
namespace {

using std::chrono::milliseconds;

class ProgramsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fmt::format("{}/programs-{}-{}", ::testing::TempDir(), ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs a shell script through `programs` in a method thread.
  ProgramResult sh(Programs& programs, const std::string& script) {
    MethodThreads::Scope scope(threads_, "1.1.1", "test", "run");
    return programs.run({"/bin/sh", "-c", script}, {}, scope);
  }
  // The pid a script wrote to `file`, once it has.
  pid_t pid_in(const std::string& file) {
    for (int i = 0; i < 500; ++i) {
      if (auto text = read_text_file(file); text && !text->empty()) return std::stoi(*text);
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << file << " never written";
    return -1;
  }
  static std::string boot_id() {
    std::string id = read_text_file("/proc/sys/kernel/random/boot_id").value();
    return id.substr(0, id.find('\n'));
  }
  static bool alive(pid_t pid) {
    auto stat = read_text_file(fmt::format("/proc/{}/stat", pid));
    return stat && stat->find(") Z ") == std::string::npos;
  }

  std::string dir_;
  MethodThreads threads_;
};

// A root oserv runs programs as the method account: its uid, gid, groups and home; not root.
TEST_F(ProgramsTest, AProgramRunsAsTheMethodAccount) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching accounts needs root";
  Programs programs(dir_ + "/ledger", milliseconds(10000), milliseconds(500));
  const auto nobody = RunAs::lookup("nobody");
  ASSERT_TRUE(nobody);
  MethodThreads::Scope scope(threads_, "1.1.1", "test", "run");
  auto r = programs.run({"/bin/sh", "-c", "id -u; id -G; echo $USER $HOME; touch /root/x"}, {},
                        scope, nobody);
  EXPECT_EQ(r.output.substr(0, r.output.find('\n')), std::to_string(nobody->uid)) << r.output;
  EXPECT_NE(r.output.find("nobody " + nobody->home), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << "wrote as root: " << r.output;
  EXPECT_EQ(RunAs::lookup("root"), std::nullopt) << "the oserv's own account needs no switch";
  EXPECT_THROW(RunAs::lookup("no-such-user-here"), ProgramError);
}

TEST_F(ProgramsTest, TheCallEndsWhenTheProgramExitsThoughAChildKeepsItsOutput) {
  Programs programs(dir_ + "/ledger", milliseconds(20000), milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  auto r = sh(programs, fmt::format("sleep 30 & echo $! >{}/child; echo done; exit 3", dir_));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "done\n");
  const pid_t child = pid_in(dir_ + "/child");
  EXPECT_TRUE(alive(child)) << "a child of a program that ended by itself is left alone";
  ::kill(child, SIGKILL);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/ledger")) << "the ledger forgets it";
}

TEST_F(ProgramsTest, AProgramPastItsLimitIsTermedThenKilledWithItsGroup) {
  Programs programs(dir_ + "/ledger", milliseconds(300), milliseconds(300));
  try {
    sh(programs, fmt::format("trap '' TERM; sleep 30 & echo $! >{}/child; wait", dir_));
    FAIL() << "no error";
  } catch (const ProgramError& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish within 0.3 s"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("SIGTERM, then SIGKILL"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(alive(pid_in(dir_ + "/child"))) << "the group went with it";
}

TEST_F(ProgramsTest, AStopEndsRunningProgramsAndRefusesNewOnes) {
  Programs programs(dir_ + "/ledger", milliseconds(20000), milliseconds(200));
  auto running = std::async(std::launch::async, [&] {
    return sh(programs, fmt::format("echo $$ >{}/pid; exec sleep 30", dir_));
  });
  const pid_t pid = pid_in(dir_ + "/pid");
  programs.stop_all();
  EXPECT_THROW(running.get(), ProgramError);
  EXPECT_FALSE(alive(pid));
  EXPECT_THROW(sh(programs, "true"), ProgramError) << "nothing starts once stopping";
}

TEST_F(ProgramsTest, TheNextStartEndsWhatAKilledOservLeftAndNothingElse) {
  Programs killed(dir_ + "/ledger", milliseconds(20000), milliseconds(200));
  auto left = std::async(std::launch::async, [&] {
    return sh(killed, fmt::format("trap '' TERM; echo $$ >{}/pid; sleep 30; true", dir_));
  });
  const pid_t pid = pid_in(dir_ + "/pid");
  // Records of a process on another boot, and of a pid now held by a younger process.
  write_file_atomically(dir_ + "/ledger/1", "another-boot 12\n");
  write_file_atomically(fmt::format("{}/ledger/{}", dir_, ::getpid()),
                        boot_id() + " 1\n");
  Programs next(dir_ + "/ledger", milliseconds(20000), milliseconds(200));
  const auto lines = next.end_leftovers();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(fmt::format("method program {} ", pid)), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("SIGTERM, then SIGKILL"), std::string::npos) << lines[0];
  EXPECT_EQ(left.get().exit_code, 128 + SIGKILL);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/ledger"));
}

}  // namespace
}  // namespace openoserv

namespace openoserv {
namespace {

// odstat lists every method thread; the health check counts as stuck only those that are not
// resident (a gateway, the Endpoint Manager run as long as the oserv).
TEST(MethodThreads, ResidentMethodsAreListedButNeverStuck) {
  MethodThreads threads;
  MethodThreads::Scope gateway(threads, "1.2.3", "gateway", "run", true);
  MethodThreads::Scope method(threads, "1.2.4", "hung", "run");
  EXPECT_EQ(threads.list().size(), 2u);
  const auto stuck = threads.older_than(std::chrono::seconds(-1));
  ASSERT_EQ(stuck.size(), 1u);
  EXPECT_EQ(stuck[0].first.method, "hung");
}

}  // namespace
}  // namespace openoserv
