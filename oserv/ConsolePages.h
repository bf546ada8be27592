// The web console's pages (oserv --console): plain HTML rendered on the server from what the
// console gathered (oserv/Console.cc), with no script; the browser reloads them every 10 s.
//
//   /              the region: a picture of its dispatchers, gateways and endpoints and who is
//                  up, the dispatchers and gateways as tables, the TMR server's replication
//   /od/N          dispatcher N: its status block, method threads, transactions and locks, and
//                  the last lines of its oservlog
//   /endpoints     the endpoints (?gateway=LABEL: one gateway's), the first 1,000
//
// Every text that comes from the region (labels, addresses, log lines) is escaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace openoserv::console {

// A part of a page: its content, or why it is not shown (the viewer lacks the operation's
// role, or the dispatcher that holds it did not answer).
template <typename T>
struct Section {
  T content{};
  std::string unavailable;  // "" when shown
};

struct Viewer {
  std::string who;    // the principal, as the audit log names it
  std::string roles;  // "user", "super:senior", ...
};

struct DispatcherView {
  std::uint32_t od = 0;
  std::string ip;
  std::uint16_t port = 0;
  std::vector<std::string> hostnames;
  bool up = false;
  std::string problem;  // why it is shown down
};

struct GatewayView {
  std::string label;
  std::uint32_t od = 0;  // the dispatcher that runs it
  std::string host;
  std::uint16_t port = 0;
  bool up = false;
  std::string problem;
  std::size_t assigned = 0;   // endpoints the Endpoint Manager assigns to it
  std::size_t logged_in = 0;  // of those, with a session at it now
  // Each of them, when there are at most kShownEndpoints (the picture draws each; more, it
  // counts them).
  struct Shown {
    std::string label;
    bool logged_in = false;
  };
  std::vector<Shown> shown;
};
inline constexpr std::size_t kShownEndpoints = 8;

struct RegionView {
  std::uint32_t region = 0;
  Viewer viewer;
  std::vector<DispatcherView> dispatchers;  // odlist order: dispatcher 1 first
  Section<std::vector<GatewayView>> gateways;
  Section<std::vector<std::string>> replication;  // the TMR server's replication status
};

struct EndpointRow {
  std::string label, gateway, address, last_login, login_kind;
  std::uint32_t migrations = 0;
  bool logged_in = false;
};

struct EndpointsView {
  std::uint32_t region = 0;
  Viewer viewer;
  std::string gateway;  // the filter ("" all)
  std::size_t total = 0;  // endpoints matching, of which `rows` are the first
  Section<std::vector<EndpointRow>> rows;
};

struct ThreadRow {
  std::uint32_t id = 0;
  std::string state, started, oid, method;
  long pid = 0;
};

struct TxnRow {
  std::string id, kind, parent, label, started;
  std::uint32_t changes = 0, idle_seconds = 0;
};

struct LockRow {
  std::string resource, mode;
  std::vector<std::string> holders, waiters;
};

struct Transactions {
  std::vector<TxnRow> txns;
  std::vector<LockRow> locks;
  std::uint64_t journal_bytes = 0;
};

struct DispatcherPage {
  std::uint32_t region = 0;
  Viewer viewer;
  std::uint32_t od = 0;
  std::vector<std::uint32_t> dispatchers;  // for the navigation
  Section<std::vector<std::pair<std::string, std::string>>> status;  // wire::status_lines
  Section<std::vector<ThreadRow>> threads;
  Section<Transactions> transactions;
  Section<std::vector<std::string>> log;
};

// HTML-escapes `text` (& < > " ').
std::string escape(std::string_view text);

std::string region_page(const RegionView& view);
// The picture alone: an SVG of the dispatchers (dispatcher 1 on top), the gateways under the
// dispatcher that runs each, and each gateway's endpoints (each one, or how many when there are
// more than kShownEndpoints); green up (logged in), red down (away).
std::string region_picture(const RegionView& view);
std::string dispatcher_page(const DispatcherPage& page);
std::string endpoints_page(const EndpointsView& view);
// A page that says why there is nothing else: a refusal, an unknown page.
std::string message_page(const std::string& title, const std::string& message);

}  // namespace openoserv::console
