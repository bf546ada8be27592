// The console's HTML.
#include "ConsolePages.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/core.h>
#include <fmt/ranges.h>

namespace openoserv::console {

namespace {

constexpr const char* kUp = "#2e7d32";    // the picture's colours: the test reads them back
constexpr const char* kDown = "#c62828";
constexpr const char* kLine = "#78909c";
constexpr int kBoxW = 160, kBoxH = 52, kColW = 180, kTop = 10, kRow = 100;  // the picture's grid

constexpr const char* kStyle = R"(
body { font: 14px/1.4 sans-serif; margin: 0 1.5em 2em; color: #212121; }
header { display: flex; gap: 1.5em; align-items: baseline; border-bottom: 1px solid #cfd8dc;
         padding: .6em 0; margin-bottom: 1em; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
header .you { margin-left: auto; color: #546e7a; font-size: 12px; }
h2 { font-size: 16px; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }
th { border-bottom: 1px solid #cfd8dc; font-weight: 600; }
.up { color: #2e7d32; font-weight: 600; } .down { color: #c62828; font-weight: 600; }
.why { color: #6d4c41; font-style: italic; }
pre { background: #f5f5f5; padding: .6em; overflow-x: auto; font-size: 12px; }
a { color: #1565c0; }
)";

std::string nav(std::uint32_t region, const Viewer& viewer, const std::vector<std::uint32_t>& ods) {
  std::string links = "<a href=\"/\">Region</a> <a href=\"/endpoints\">Endpoints</a>";
  for (const auto od : ods) links += fmt::format(" <a href=\"/od/{0}\">od {0}</a>", od);
  return fmt::format("<header><h1>openoserv region {}</h1><nav>{}</nav><span class=\"you\">"
                     "read-only · refreshed every 10 s · you are {} ({})</span></header>",
                     region, links, escape(viewer.who), escape(viewer.roles));
}

std::string document(const std::string& title, const std::string& body) {
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta http-equiv=\"refresh\" content=\"10\"><title>{}</title>"
                     "<style>{}</style></head><body>{}</body></html>\n",
                     escape(title), kStyle, body);
}

std::string state(bool up, const std::string& problem) {
  if (up) return "<span class=\"up\">up</span>";
  return fmt::format("<span class=\"down\">down</span> <span class=\"why\">{}</span>", escape(problem));
}

// A section's content, or why it is not shown.
template <typename T, typename F>
std::string section(const std::string& title, const Section<T>& s, F&& render) {
  std::string out = fmt::format("<h2>{}</h2>", escape(title));
  if (!s.unavailable.empty()) return out + fmt::format("<p class=\"why\">{}</p>", escape(s.unavailable));
  return out + render(s.content);
}

// <table> with a header row and rows of cells (already escaped where they hold text).
std::string table(const std::vector<std::string>& head,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table><tr>";
  for (const auto& h : head) out += "<th>" + escape(h) + "</th>";
  out += "</tr>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + cell + "</td>";
    out += "</tr>";
  }
  return out + "</table>";
}

std::vector<std::uint32_t> ods_of(const RegionView& view) {
  std::vector<std::uint32_t> ods;
  for (const auto& d : view.dispatchers) ods.push_back(d.od);
  return ods;
}

// The endpoints page of gateway `label` (percent-encoded: a label may hold any character).
std::string gateway_link(const std::string& label) {
  std::string out = "/endpoints?gateway=";
  for (const unsigned char c : label) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// A box of the picture: `lines` centred in it, filled by whether it is up.
std::string box(int x, int y, int w, int h, bool up, const std::vector<std::string>& lines,
                const std::string& link) {
  std::string out = fmt::format("<a href=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                                "rx=\"6\" fill=\"{}\"/>",
                                escape(link), x, y, w, h, up ? kUp : kDown);
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#fff\" "
                       "font-size=\"12\">{}</text>",
                       x + w / 2, y + 16 + static_cast<int>(i) * 15, escape(lines[i]));
  return out + "</a>";
}

std::string link_line(int x1, int y1, int x2, int y2, bool up) {
  return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
                     "stroke-width=\"2\"{}/>",
                     x1, y1, x2, y2, up ? kLine : kDown, up ? "" : " stroke-dasharray=\"6 4\"");
}

// A gateway's endpoints, from its box's bottom edge (`from`) down to row `y`: a dot each
// (green logged in, red away) with its label, or one box that counts them.
std::string endpoints_under(const GatewayView& g, int x, int from, int y) {
  constexpr int kPerRow = 4, kStep = kBoxW / kPerRow, kRowStep = 34, kRadius = 7;
  const int cx = x + kBoxW / 2;
  if (g.shown.empty() || g.shown.size() != g.assigned)
    return link_line(cx, from, cx, y, true) +
           box(x, y, kBoxW, kBoxH - 15, g.assigned == 0 || g.logged_in > 0,
               {fmt::format("{} endpoint{}", g.assigned, g.assigned == 1 ? "" : "s"),
                fmt::format("{} logged in", g.logged_in)},
               gateway_link(g.label));
  std::string svg;
  for (std::size_t i = 0; i < g.shown.size(); ++i) {
    const auto& e = g.shown[i];
    const int ex = x + kStep / 2 + static_cast<int>(i % kPerRow) * kStep;
    const int ey = y + kRadius + static_cast<int>(i / kPerRow) * kRowStep;
    svg += link_line(cx, from, ex, ey - kRadius, e.logged_in);
    svg += fmt::format("<a href=\"{}\"><circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>"
                       "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text></a>",
                       escape(gateway_link(g.label)), ex, ey, kRadius, e.logged_in ? kUp : kDown, ex,
                       ey + kRadius + 12, escape(e.label.substr(0, 6)));
  }
  return svg;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string region_picture(const RegionView& view) {
  std::map<std::uint32_t, std::vector<const GatewayView*>> gateways_of;
  for (const auto& g : view.gateways.content) gateways_of[g.od].push_back(&g);
  // A column per managed node, and one for dispatcher 1 when it runs gateways.
  std::vector<const DispatcherView*> columns;
  const DispatcherView* tmr = nullptr;
  for (const auto& d : view.dispatchers) {
    if (d.od == 1) tmr = &d;
    if (d.od != 1 || gateways_of.count(1)) columns.push_back(&d);
  }
  std::vector<int> left;
  int width = 0;
  for (const auto* c : columns) {
    left.push_back(width);
    width += kColW * static_cast<int>(std::max<std::size_t>(1, gateways_of[c->od].size()));
  }
  width = std::max(width, kColW);
  const int tmr_x = width / 2 - kBoxW / 2;
  std::string svg;
  if (tmr)
    svg += box(tmr_x, kTop, kBoxW, kBoxH, tmr->up,
               {"TMR server · od 1", fmt::format("{}:{}", tmr->ip, tmr->port), tmr->up ? "up" : "down"},
               "/od/1");
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const DispatcherView& d = *columns[c];
    const auto& gws = gateways_of[d.od];
    const int span = kColW * static_cast<int>(std::max<std::size_t>(1, gws.size()));
    // The node's box, linked to the TMR server (dispatcher 1's gateways hang from its own box).
    int parent_x = width / 2, parent_y = kTop + kBoxH;
    if (d.od != 1) {
      const int x = left[c] + span / 2 - kBoxW / 2;
      const int y = kTop + kRow;
      svg += link_line(width / 2, kTop + kBoxH, x + kBoxW / 2, y, d.up);
      svg += box(x, y, kBoxW, kBoxH, d.up,
                 {fmt::format("od {} · {}", d.od, d.hostnames.empty() ? d.ip : d.hostnames.front()),
                  fmt::format("{}:{}", d.ip, d.port), d.up ? "up" : "down"},
                 fmt::format("/od/{}", d.od));
      parent_x = x + kBoxW / 2;
      parent_y = y + kBoxH;
    }
    for (std::size_t i = 0; i < gws.size(); ++i) {
      const GatewayView& g = *gws[i];
      const int x = left[c] + static_cast<int>(i) * kColW + (kColW - kBoxW) / 2;
      const int y = kTop + 2 * kRow;
      svg += link_line(parent_x, parent_y, x + kBoxW / 2, y, g.up);
      svg += box(x, y, kBoxW, kBoxH, g.up,
                 {"gateway " + g.label, fmt::format("{}:{}", g.host, g.port), g.up ? "up" : "down"},
                 gateway_link(g.label));
      svg += endpoints_under(g, x, y + kBoxH, y + kRow);
    }
  }
  const int height = kTop + (view.gateways.content.empty() ? 1 : 3) * kRow + kBoxH + 10;
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                     "viewBox=\"-10 0 {2} {1}\" font-family=\"sans-serif\" role=\"img\" "
                     "aria-label=\"the region\">{3}</svg>",
                     width + 20, height, width + 20, svg);
}

std::string region_page(const RegionView& view) {
  std::string body = nav(view.region, view.viewer, ods_of(view));
  body += "<h2>The region</h2>" + region_picture(view);
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : view.dispatchers)
    rows.push_back({fmt::format("<a href=\"/od/{0}\">{0}</a>", d.od), escape(d.ip),
                    std::to_string(d.port), escape(fmt::format("{}", fmt::join(d.hostnames, ","))),
                    state(d.up, d.problem)});
  body += "<h2>Dispatchers</h2>" + table({"Disp", "IPaddr", "Port", "Hostname(s)", "State"}, rows);
  body += section("Gateways", view.gateways, [](const std::vector<GatewayView>& gws) {
    std::vector<std::vector<std::string>> cells;
    for (const auto& g : gws)
      cells.push_back({fmt::format("<a href=\"{}\">{}</a>", escape(gateway_link(g.label)), escape(g.label)),
                       std::to_string(g.od), escape(fmt::format("{}:{}", g.host, g.port)),
                       state(g.up, g.problem), std::to_string(g.assigned),
                       std::to_string(g.logged_in)});
    if (gws.empty()) return std::string("<p>No gateway (wcrtgate makes one).</p>");
    return table({"Gateway", "Node", "Address", "State", "Endpoints", "Logged in"}, cells);
  });
  body += section("Replication", view.replication, [](const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += escape(l) + "\n";
    return "<pre>" + out + "</pre>";
  });
  return document(fmt::format("openoserv region {}", view.region), body);
}

std::string dispatcher_page(const DispatcherPage& p) {
  std::string body = nav(p.region, p.viewer, p.dispatchers);
  body += fmt::format("<h2>Dispatcher {}</h2>", p.od);
  body += section("Status", p.status, [](const auto& lines) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, value] : lines)
      if (!name.empty() || !value.empty()) rows.push_back({escape(name), escape(value)});
    return table({"", ""}, rows);
  });
  body += section("Method threads (odstat)", p.threads, [](const std::vector<ThreadRow>& threads) {
    if (threads.empty()) return std::string("<p>None.</p>");
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : threads)
      rows.push_back({std::to_string(t.id), escape(t.state), escape(t.started), escape(t.oid),
                      escape(t.method), t.pid ? std::to_string(t.pid) : ""});
    return table({"tid", "state", "started", "object", "method", "pid"}, rows);
  });
  body += section("Transactions and locks (tmstat)", p.transactions, [](const Transactions& t) {
    std::string out = fmt::format("<p>odb.log: {} bytes</p>", t.journal_bytes);
    std::vector<std::vector<std::string>> txns, locks;
    for (const auto& x : t.txns)
      txns.push_back({escape(x.id), escape(x.kind), escape(x.parent), escape(x.label),
                      escape(x.started), std::to_string(x.changes), std::to_string(x.idle_seconds)});
    for (const auto& l : t.locks)
      locks.push_back({escape(l.resource), escape(l.mode),
                       escape(fmt::format("{}", fmt::join(l.holders, " "))),
                       escape(fmt::format("{}", fmt::join(l.waiters, " ")))});
    out += txns.empty() ? "<p>No open transaction.</p>"
                        : table({"id", "kind", "parent", "label", "started", "changes", "idle s"}, txns);
    out += locks.empty() ? "<p>No lock held.</p>"
                         : table({"resource", "mode", "holders", "waiters"}, locks);
    return out;
  });
  body += section("oservlog (last lines)", p.log, [](const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += escape(l) + "\n";
    return "<pre>" + out + "</pre>";
  });
  return document(fmt::format("openoserv region {}: dispatcher {}", p.region, p.od), body);
}

std::string endpoints_page(const EndpointsView& view) {
  std::string body = nav(view.region, view.viewer, {});
  const std::string title =
      view.gateway.empty() ? std::string("Endpoints") : "Endpoints of gateway " + view.gateway;
  body += section(title, view.rows, [&](const std::vector<EndpointRow>& rows) {
    std::string out = fmt::format("<p>{} endpoints{}.</p>", view.total,
                                  rows.size() < view.total
                                      ? fmt::format(", the first {} shown", rows.size())
                                      : std::string());
    std::vector<std::vector<std::string>> cells;
    for (const auto& e : rows)
      cells.push_back({escape(e.label), escape(e.gateway), escape(e.address),
                       e.logged_in ? "<span class=\"up\">logged in</span>"
                                   : "<span class=\"down\">away</span>",
                       escape(e.last_login), escape(e.login_kind), std::to_string(e.migrations)});
    return out + table({"Endpoint", "Gateway", "Address", "Session", "Last login", "Kind",
                        "Migrations"},
                       cells);
  });
  return document(title, body);
}

std::string message_page(const std::string& title, const std::string& message) {
  return document(title, fmt::format("<h1>{}</h1><p>{}</p>", escape(title), escape(message)));
}

}  // namespace openoserv::console
