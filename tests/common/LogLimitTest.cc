// The limit on log lines of one kind (common/LogLimit.h): a burst goes in whole, then lines go
// in at the refill rate, and the next line let in carries the count left out.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "LogLimit.h"

namespace openoserv {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(LogLimit, ABurstGoesInWholeThenTheRateHolds) {
  LogLimit limit(/*per_second=*/10, /*burst=*/5);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limit.admit(t0), 0) << i;
  EXPECT_EQ(limit.admit(t0), -1);
  EXPECT_EQ(limit.admit(t0 + milliseconds(50)), -1);  // half a line's worth refilled
  EXPECT_EQ(limit.admit(t0 + milliseconds(100)), 2);  // one line: two were left out before it
  EXPECT_EQ(limit.admit(t0 + milliseconds(100)), -1);
  // A long quiet time refills the burst, no more.
  const Clock::time_point later = t0 + std::chrono::hours(1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limit.admit(later), i == 0 ? 1 : 0) << i;
  EXPECT_EQ(limit.admit(later), -1);
}

TEST(LogLimit, AnEarlierTimeFromAnotherThreadTakesNothingBack) {
  LogLimit limit(10, 1);
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(limit.admit(t0 + milliseconds(100)), 0);
  EXPECT_EQ(limit.admit(t0), -1);
  EXPECT_EQ(limit.admit(t0 + milliseconds(200)), 1);
}

TEST(LogLimit, WriteNotesWhatWasLeftOutBeforeTheNextLine) {
  LogLimit limit(10, 1);
  std::vector<std::string> log;
  const auto sink = [&log](const std::string& line) { log.push_back(line); };
  const Clock::time_point t0 = Clock::now();
  limit.write(sink, "first", "refused calls", t0);
  limit.write(sink, "left out", "refused calls", t0);
  limit.write(sink, "left out too", "refused calls", t0 + milliseconds(10));
  limit.write(sink, "second", "refused calls", t0 + milliseconds(100));
  EXPECT_EQ(log, (std::vector<std::string>{
                     "first",
                     "second [and 2 more refused calls, left out of this log]"}));
}

}  // namespace
}  // namespace openoserv
