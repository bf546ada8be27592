// An acceptor's next try after a failed accept. The failures that reach an accept handler are
// those of resources (EMFILE and ENFILE: no descriptor left; ENOBUFS, ENOMEM), and they repeat
// at once until something else changes: accepting again at once would keep a CPU busy for as
// long as they last and, where each failure is logged, fill the disk. So the next try waits
// kPause, and only the first failure of a run is worth reporting.
// Used from the thread that runs the acceptor's handlers (one at a time).
#pragma once

#include <utility>

#include <chrono>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace openoserv {

class AcceptRetry {
 public:
  static constexpr std::chrono::milliseconds kPause{100};

  explicit AcceptRetry(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  // After a failed accept: `again` runs kPause later (not once cancelled). True when this
  // failure is the first since an accept succeeded.
  template <typename Again>
  bool failed(Again again) {
    timer_.expires_after(kPause);
    timer_.async_wait([again = std::move(again)](const boost::system::error_code& ec) {
      if (!ec) again();
    });
    return !std::exchange(failing_, true);
  }
  // After an accept that worked: true when it ends a run of failures.
  bool succeeded() { return std::exchange(failing_, false); }
  void cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  bool failing_ = false;
};

}  // namespace openoserv
