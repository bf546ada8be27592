// The console: who asks, what they may see, and gathering it from the region.
#include "Console.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include <fmt/core.h>

#include "Access.h"
#include "Authorization.h"
#include "ConsolePages.h"
#include "CorbaPeers.h"
#include "Failure.h"
#include "Numbers.h"
#include "Odlist.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace openoserv {

namespace {

using console::Section;
constexpr std::size_t kParallel = 16;      // calls one page makes at once
constexpr std::size_t kEndpointRows = 1000;  // endpoints one page lists
constexpr int kLogLines = 40;

// f(item) for each item, kParallel at a time; f must not throw.
template <typename T, typename F>
auto in_parallel(const std::vector<T>& items, F f) {
  using R = decltype(f(items.front()));
  std::vector<R> out(items.size());
  for (std::size_t start = 0; start < items.size(); start += kParallel) {
    const std::size_t end = std::min(items.size(), start + kParallel);
    std::vector<std::future<R>> batch;
    for (std::size_t i = start; i < end; ++i)
      batch.push_back(std::async(std::launch::async, f, std::cref(items[i])));
    for (std::size_t i = start; i < end; ++i) out[i] = batch[i - start].get();
  }
  return out;
}

// "" when `who` may call `operation`, else why this part is not shown.
std::string not_allowed(const Principal& who, std::string_view operation) {
  const auto why = refusal(who, operation);
  return why ? fmt::format("Not shown: {}.", *why) : "";
}

// Fills `s` with what `read` returns, unless `who` may not call `operation` or the call fails
// (then `s` says why).
template <typename T, typename F>
void fill(Section<T>& s, const Principal& who, std::string_view operation, F&& read) {
  s.unavailable = not_allowed(who, operation);
  if (!s.unavailable.empty()) return;
  try {
    s.content = read();
  } catch (const std::exception& e) {
    s.unavailable = e.what();
  }
}

console::Viewer viewer_of(const Principal& who) {
  return {.who = who.describe(), .roles = roles_text(who.roles)};
}

// A time as the log writes it ("" for none).
std::string when(long long seconds) {
  return seconds > 0 ? OservLog::timestamp(static_cast<std::time_t>(seconds)) : "";
}

// The OIDs with a session at gateway `label` now (the TMR server asks the gateway).
std::set<std::string> live_sessions(CorbaPeers& peers, const std::string& label) {
  std::set<std::string> live;
  peers.call(kTmrDispatcher, timeouts::kConsoleCall, [&](OServ::Dispatcher_ptr d) {
    OServ::EndpointSessions_var s = d->gateway_sessions(label.c_str());
    for (CORBA::ULong i = 0; i < s->length(); ++i) live.insert(s[i].oid.in());
  });
  return live;
}

// The gateways, each with how many of its endpoints have a session at it now.
std::vector<console::GatewayView> gateways(CorbaPeers& peers,
                                           const std::vector<EndpointRecord>& endpoints) {
  const auto records = peers.call(kTmrDispatcher, timeouts::kConsoleCall, [](OServ::Dispatcher_ptr d) {
    OServ::GatewayEntries_var all = d->gateways();
    return wire::gateways(all.in());
  });
  std::map<std::string, std::vector<const EndpointRecord*>> by_gateway;
  for (const auto& e : endpoints) by_gateway[e.gateway].push_back(&e);
  return in_parallel(records, [&](const GatewayRecord& g) {
    console::GatewayView v{.label = g.label, .od = g.od, .host = g.host, .port = g.port};
    std::set<std::string> live;
    try {
      live = live_sessions(peers, g.label);
      v.up = true;
    } catch (const std::exception& e) {
      v.problem = e.what();
    }
    const auto it = by_gateway.find(g.label);
    if (it == by_gateway.end()) return v;
    v.assigned = it->second.size();
    for (const EndpointRecord* e : it->second) {
      const bool in = live.count(e->oid) > 0;
      v.logged_in += in;
      if (v.assigned <= console::kShownEndpoints) v.shown.push_back({.label = e->label, .logged_in = in});
    }
    return v;
  });
}

std::vector<EndpointRecord> all_endpoints(CorbaPeers& peers, const std::string& gateway) {
  return peers.call(kTmrDispatcher, timeouts::kConsoleCall, [&](OServ::Dispatcher_ptr d) {
    OServ::EndpointEntries_var all = d->endpoints(gateway.c_str());
    return wire::endpoints(all.in());
  });
}

console::RegionView region_view(const Console::Run& run, const Principal& who) {
  console::RegionView view{.region = run.region, .viewer = viewer_of(who)};
  const auto odlist = odlist::load(run.db);
  view.dispatchers = in_parallel(odlist, [&](const OdRecord& r) {
    console::DispatcherView d{.od = r.od, .ip = r.ip, .port = r.port, .hostnames = r.hostnames};
    try {
      run.peers.ping(r.od, timeouts::kLiveness);
      d.up = true;
    } catch (const std::exception& e) {
      d.problem = e.what();
    }
    return d;
  });
  fill(view.gateways, who, "gateways", [&] {
    if (const auto why = not_allowed(who, "gateway_sessions"); !why.empty()) throw std::runtime_error(why);
    std::vector<EndpointRecord> endpoints;
    if (not_allowed(who, "endpoints").empty()) endpoints = all_endpoints(run.peers, "");
    return gateways(run.peers, endpoints);
  });
  fill(view.replication, who, "replication_status", [&] {
    return run.peers.call(kTmrDispatcher, timeouts::kConsoleCall, [](OServ::Dispatcher_ptr d) {
      OServ::StringList_var lines = d->replication_status();
      return wire::strings(lines.in());
    });
  });
  return view;
}

console::Transactions transactions(OServ::Dispatcher_ptr d) {
  OServ::TxnEntries_var txns;
  OServ::LockEntries_var locks;
  CORBA::ULongLong journal = 0, journal_file = 0;
  d->tmstat(txns.out(), locks.out(), journal, journal_file);
  console::Transactions t{.journal_bytes = journal};
  for (CORBA::ULong i = 0; i < txns->length(); ++i) {
    const auto& x = txns[i];
    t.txns.push_back({.id = x.id.in(), .kind = x.kind.in(), .parent = x.parent.in(),
                      .label = x.label.in(), .started = x.started.in(), .changes = x.changes,
                      .idle_seconds = x.idle_seconds});
  }
  for (CORBA::ULong i = 0; i < locks->length(); ++i)
    t.locks.push_back({.resource = locks[i].resource.in(), .mode = locks[i].mode.in(),
                       .holders = wire::strings(locks[i].holders),
                       .waiters = wire::strings(locks[i].waiters)});
  return t;
}

std::vector<console::ThreadRow> threads(OServ::Dispatcher_ptr d) {
  OServ::MethodThreads_var all = d->odstat();
  std::vector<console::ThreadRow> rows;
  for (CORBA::ULong i = 0; i < all->length(); ++i) {
    const auto& t = all[i];
    rows.push_back({.id = t.id, .state = t.state.in(), .started = t.started.in(),
                    .oid = t.oid.in(), .method = t.method.in(), .pid = t.pid});
  }
  return rows;
}

console::DispatcherPage dispatcher_view(const Console::Run& run, const Principal& who,
                                        const std::vector<OdRecord>& odlist, std::uint32_t od) {
  console::DispatcherPage page{.region = run.region, .viewer = viewer_of(who), .od = od};
  for (const auto& r : odlist) page.dispatchers.push_back(r.od);
  // One that does not answer a ping is not asked four times more.
  std::string down;
  try {
    run.peers.ping(od, timeouts::kLiveness);
  } catch (const std::exception& e) {
    down = e.what();
  }
  const auto ask = [&](auto&& f) {
    if (!down.empty()) throw std::runtime_error(down);
    return run.peers.call(od, timeouts::kConsoleCall, f);
  };
  fill(page.status, who, "status", [&] {
    return ask([](OServ::Dispatcher_ptr d) {
      OServ::StatusBlock_var s = d->status();
      return wire::status_lines(s.in());
    });
  });
  fill(page.threads, who, "odstat", [&] { return ask(threads); });
  fill(page.transactions, who, "tmstat", [&] { return ask(transactions); });
  fill(page.log, who, "log_tail", [&] {
    return ask([](OServ::Dispatcher_ptr d) {
      OServ::StringList_var lines = d->log_tail(kLogLines);
      return wire::strings(lines.in());
    });
  });
  return page;
}

console::EndpointsView endpoints_view(const Console::Run& run, const Principal& who,
                                      const std::string& gateway) {
  console::EndpointsView view{.region = run.region, .viewer = viewer_of(who), .gateway = gateway};
  fill(view.rows, who, "endpoints", [&] {
    const auto all = all_endpoints(run.peers, gateway);
    view.total = all.size();
    std::set<std::string> live;
    std::set<std::string> gateways;
    for (std::size_t i = 0; i < all.size() && i < kEndpointRows; ++i) gateways.insert(all[i].gateway);
    if (not_allowed(who, "gateway_sessions").empty())
      for (const auto& g : gateways) try {
          live.merge(live_sessions(run.peers, g));
        } catch (const std::exception&) {  // a gateway that is down has no session
        }
    std::vector<console::EndpointRow> rows;
    for (std::size_t i = 0; i < all.size() && i < kEndpointRows; ++i)
      rows.push_back({.label = all[i].label, .gateway = all[i].gateway,
                      .address = all[i].address, .last_login = when(all[i].last_login),
                      .login_kind = all[i].login_kind, .migrations = all[i].migrations,
                      .logged_in = live.count(all[i].oid) > 0});
    return rows;
  });
  return view;
}

web::Response html(unsigned status, std::string body) {
  return web::Response{.status = status, .content_type = "text/html; charset=utf-8",
                       .body = std::move(body)};
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `name` in the target's query ("/endpoints?gateway=gw1"), %XX and '+' decoded.
std::string query_value(const std::string& target, const std::string& name) {
  const auto q = target.find('?');
  if (q == std::string::npos) return "";
  const std::string key = name + "=";
  for (std::size_t at = q + 1; at < target.size();) {
    const std::size_t end = std::min(target.find('&', at), target.size());
    if (target.compare(at, key.size(), key) != 0) {
      at = end + 1;
      continue;
    }
    std::string value;
    for (std::size_t i = at + key.size(); i < end; ++i) {
      if (target[i] == '%' && i + 2 < end && hex_digit(target[i + 1]) >= 0 &&
          hex_digit(target[i + 2]) >= 0) {
        value += static_cast<char>(hex_digit(target[i + 1]) * 16 + hex_digit(target[i + 2]));
        i += 2;
      } else {
        value += target[i] == '+' ? ' ' : target[i];
      }
    }
    return value;
  }
  return "";
}

}  // namespace

Console::Console(const std::string& address, const TlsFiles& files, OservLog& audit)
    : audit_(audit) {
  server_ = std::make_unique<web::Server>(
      address, [this](const web::Request& r) { return serve(r); },
      web::Options{.what = "console",
                   .tls = web::Tls{.certificate = files.identity, .key = files.identity,
                                   .client_ca = files.ca},
                   .threads = 4});
}

void Console::attach(const Run* run) {
  std::unique_lock guard(mu_);
  run_ = run;
}

void Console::refused(const web::Request& request, const std::string& who, const std::string& why) {
  refusals_.write([this](const std::string& line) { audit_.line(line); },
                  fmt::format("refused console {} {} by {} via {}: {}", request.method,
                              request.target, who, request.peer, why),
                  "console refusals");
}

web::Response Console::serve(const web::Request& request) {
  web::Response r;
  if (request.method != "GET" && request.method != "HEAD") {
    r = web::method_not_allowed("GET, HEAD");
  } else {
    std::shared_lock guard(mu_);
    if (run_) {
      r = page(*run_, request);
    } else {
      r = html(503, console::message_page("Starting", "The oserv is between runs (starting, or "
                                                      "changing role); try again in a moment."));
      r.headers.emplace_back("Retry-After", "2");
    }
  }
  for (const auto& [name, value] :
       {std::pair{"Cache-Control", "no-store"},
        {"Content-Security-Policy",
         "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; "
         "form-action 'none'; base-uri 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"}})
    r.headers.emplace_back(name, value);
  return r;
}

web::Response Console::page(const Run& run, const web::Request& request) {
  const Principal who = run.authorization.certificate_holder(request.certificate, request.peer);
  if (auto why = refusal(who, "status")) {
    refused(request, who.describe(), *why);
    const std::string how =
        request.certificate
            ? *why
            : fmt::format("This console takes an administrator's client certificate of region "
                          "{} (odadmin issue_cert NAME FILE; import FILE into the browser), and "
                          "your browser showed none.",
                          run.region);
    return html(403, console::message_page("Not allowed", how));
  }
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/") return html(200, console::region_page(region_view(run, who)));
  if (path == "/endpoints")
    return html(200, console::endpoints_page(
                         endpoints_view(run, who, query_value(request.target, "gateway"))));
  if (path.starts_with("/od/")) {
    const auto odlist = odlist::load(run.db);
    const auto od = parse_number<std::uint32_t>(path.substr(4));
    if (od && std::any_of(odlist.begin(), odlist.end(), [&](const OdRecord& r) { return r.od == *od; }))
      return html(200, console::dispatcher_page(dispatcher_view(run, who, odlist, *od)));
    return html(404, console::message_page("No such dispatcher",
                                           fmt::format("{} is not a dispatcher of region {}.",
                                                       path.substr(4), run.region)));
  }
  return html(404, console::message_page("Not found", "The console has /, /od/N and /endpoints."));
}

}  // namespace openoserv
