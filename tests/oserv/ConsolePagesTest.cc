// The console's pages (oserv/ConsolePages.h): what the region holds is escaped, the picture
// colours each box by whether it is up, and a part the viewer may not see says why instead.
#include <gtest/gtest.h>

#include <string>

#include "ConsolePages.h"

namespace openoserv::console {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

RegionView region() {
  RegionView v{.region = 7, .viewer = {.who = "Alice <a@b>", .roles = "user"}};
  v.dispatchers = {{.od = 1, .ip = "10.0.0.1", .port = 94, .hostnames = {"tmr"}, .up = true},
                   {.od = 2, .ip = "10.0.0.2", .port = 94, .hostnames = {"mn"}, .up = false,
                    .problem = "dispatcher 2 does not answer"}};
  v.gateways.content = {{.label = "gw<1>", .od = 2, .host = "10.0.0.2", .port = 9494, .up = true,
                         .assigned = 3, .logged_in = 2}};
  return v;
}

TEST(ConsolePages, TextFromTheRegionIsEscaped) {
  EXPECT_EQ(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  const std::string page = region_page(region());
  EXPECT_EQ(page.find("gw<1>"), std::string::npos);
  EXPECT_NE(page.find("gw&lt;1&gt;"), std::string::npos);
  EXPECT_NE(page.find("you are Alice &lt;a@b&gt; (user)"), std::string::npos);
  DispatcherPage p{.region = 7, .od = 2};
  p.log.content = {"<script>alert(1)</script>"};
  EXPECT_EQ(dispatcher_page(p).find("<script>"), std::string::npos);
}

TEST(ConsolePages, ThePictureColoursEachBoxByWhetherItIsUp) {
  const std::string svg = region_picture(region());
  // Up: the TMR server, the gateway, its endpoints (some logged in); down: dispatcher 2.
  EXPECT_EQ(count(svg, "fill=\"#2e7d32\""), 3u) << svg;
  EXPECT_EQ(count(svg, "fill=\"#c62828\""), 1u) << svg;
  EXPECT_NE(svg.find("od 2 · mn"), std::string::npos);
  EXPECT_NE(svg.find("3 endpoints"), std::string::npos);
  EXPECT_NE(svg.find("2 logged in"), std::string::npos);
  // The link to the node that is down is dashed red.
  EXPECT_NE(svg.find("stroke=\"#c62828\" stroke-width=\"2\" stroke-dasharray"), std::string::npos);
}

TEST(ConsolePages, AFewEndpointsAreDrawnEachWithItsState) {
  RegionView v = region();
  v.gateways.content[0].assigned = 2;
  v.gateways.content[0].logged_in = 1;
  v.gateways.content[0].shown = {{.label = "ep1", .logged_in = true},
                                 {.label = "<ep2>", .logged_in = false}};
  const std::string svg = region_picture(v);
  EXPECT_EQ(count(svg, "<circle"), 2u) << svg;
  EXPECT_NE(svg.find("r=\"7\" fill=\"#2e7d32\"/><text"), std::string::npos) << svg;
  EXPECT_NE(svg.find("r=\"7\" fill=\"#c62828\"/><text"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">&lt;ep2&gt;</text>"), std::string::npos) << "labels escaped";
  EXPECT_EQ(svg.find("2 endpoints"), std::string::npos) << "drawn, not counted";
}

TEST(ConsolePages, APartTheViewerMayNotSeeSaysWhy) {
  DispatcherPage p{.region = 7, .od = 1, .dispatchers = {1, 2}};
  p.status.content = {{"Region", "7"}, {"", "openoserv 0.1"}};
  p.log.unavailable = "Not shown: log_tail needs the admin role.";
  const std::string page = dispatcher_page(p);
  EXPECT_NE(page.find("<td>Region</td><td>7</td>"), std::string::npos);
  EXPECT_NE(page.find("Not shown: log_tail needs the admin role."), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/od/2\">od 2</a>"), std::string::npos);
}

TEST(ConsolePages, TheEndpointsPageSaysHowManyItLeftOut) {
  EndpointsView v{.region = 7, .gateway = "gw1", .total = 5000};
  v.rows.content = {{.label = "ep1", .gateway = "gw1", .logged_in = true},
                    {.label = "ep2", .gateway = "gw1", .logged_in = false}};
  const std::string page = endpoints_page(v);
  EXPECT_NE(page.find("5000 endpoints, the first 2 shown"), std::string::npos) << page;
  EXPECT_NE(page.find("Endpoints of gateway gw1"), std::string::npos);
  EXPECT_EQ(count(page, "logged in</span>"), 1u);
  EXPECT_EQ(count(page, ">away</span>"), 1u);
}

}  // namespace
}  // namespace openoserv::console
