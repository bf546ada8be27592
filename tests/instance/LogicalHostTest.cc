// Logical host resolution: names and dotted quads to a local or remote IPv4 address.
#include <gtest/gtest.h>

#include "InstanceTable.h"
#include "LogicalHost.h"

namespace openoserv {
namespace {

TEST(LogicalHost, LoopbackAddressesAreLocal) {
  auto a = resolve_logical_host("127.0.0.3", "test");
  EXPECT_EQ(a.ip, "127.0.0.3");
  EXPECT_TRUE(a.local);
}

TEST(LogicalHost, LocalhostNameResolves) {
  auto a = resolve_logical_host("localhost", "test");
  EXPECT_EQ(a.ip.rfind("127.", 0), 0u) << a.ip;
  EXPECT_TRUE(a.local);
}

TEST(LogicalHost, ForeignAddressIsNotLocal) {
  // TEST-NET-1 (RFC 5737) is never configured on a test machine.
  auto a = resolve_logical_host("192.0.2.1", "test");
  EXPECT_EQ(a.ip, "192.0.2.1");
  EXPECT_FALSE(a.local);
}

TEST(LogicalHost, UnresolvableNameNamesHostAndSource) {
  try {
    resolve_logical_host("no-such-host.invalid", "$WLOCALHOST");
    FAIL();
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("no-such-host.invalid"), std::string::npos) << m;
    EXPECT_NE(m.find("$WLOCALHOST"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace openoserv
