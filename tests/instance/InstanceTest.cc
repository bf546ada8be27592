// Parameter precedence: flags > environment > instances file/registry > defaults.
#include <gtest/gtest.h>

#include "Instance.h"

namespace openoserv {
namespace {

InstanceTable table() {
  return InstanceTable::parse_instances_file(
      "oserv:/db/a:/etc/a:9000:filehost\n"
      "oserv1:/db/b:::\n",
      "/etc/Tivoli/instances");
}

InstanceSelection where(const std::string& id) {
  InstanceFlags flags;
  flags.id = id;
  flags.etc_root = "/etc/Tivoli";
  return select_instance(flags, {});
}

TEST(Precedence, FileValuesBeatDefaults) {
  auto r = resolve_instance(where("oserv"), table(), {}, {}, std::nullopt, "sys");
  EXPECT_EQ(r.dbdir, "/db/a");
  EXPECT_EQ(r.etcdir, "/etc/a");
  EXPECT_EQ(r.port, 9000);
  EXPECT_EQ(r.logical_host, "filehost");
  EXPECT_EQ(r.logical_host_source, "/etc/Tivoli/instances:1");
  EXPECT_TRUE(r.registered);
}

TEST(Precedence, DefaultsFillEmptyFields) {
  auto r = resolve_instance(where("oserv1"), table(), {}, {}, std::nullopt, "sys");
  EXPECT_EQ(r.etcdir, "/etc/Tivoli/oserv1");
  EXPECT_EQ(r.port, kDefaultPort);
  EXPECT_EQ(r.logical_host, "sys");
}

TEST(Precedence, WlocalhostFileBeatsSystemName) {
  auto r = resolve_instance(where("oserv1"), table(), {}, {}, std::string("wfile"), "sys");
  EXPECT_EQ(r.logical_host, "wfile");
  EXPECT_EQ(r.logical_host_source, "/etc/wlocalhost");
}

TEST(Precedence, EnvironmentBeatsFile) {
  InstanceEnvironment env;
  env.wlocalhost = "envhost";
  auto r = resolve_instance(where("oserv"), table(), {}, env, std::string("wfile"), "sys");
  EXPECT_EQ(r.logical_host, "envhost");
  EXPECT_EQ(r.logical_host_source, "$WLOCALHOST");
}

TEST(Precedence, FlagsBeatEverything) {
  InstanceFlags flags;
  flags.dbdir = "/flag/db";
  flags.etcdir = "/flag/etc";
  flags.port = 9999;
  flags.hostname = "flaghost";
  InstanceEnvironment env;
  env.wlocalhost = "envhost";
  auto r = resolve_instance(where("oserv"), table(), flags, env, std::string("wfile"), "sys");
  EXPECT_EQ(r.dbdir, "/flag/db");
  EXPECT_EQ(r.etcdir, "/flag/etc");
  EXPECT_EQ(r.port, 9999);
  EXPECT_EQ(r.logical_host, "flaghost");
}

TEST(Selection, IdFromFlagThenEnvThenDefault) {
  InstanceEnvironment env;
  env.oserv = "oserv1";
  env.etc_root = "/srv/tivoli";
  EXPECT_EQ(select_instance({}, {}).id, "oserv");
  EXPECT_EQ(select_instance({}, {}).etc_root, "/etc/Tivoli");
  EXPECT_EQ(select_instance({}, env).id, "oserv1");
  EXPECT_EQ(select_instance({}, env).socket_path(), "/srv/tivoli/run/oserv1.sock");
  EXPECT_EQ(select_instance({}, env).wlocalhost_path(), "/srv/wlocalhost");
  InstanceFlags flags;
  flags.id = "oserv2";
  flags.etc_root = "/x";
  EXPECT_EQ(select_instance(flags, env).id, "oserv2");
  EXPECT_EQ(select_instance(flags, env).table_path, "/x/instances");
  env.registry = "/x/inst.reg";
  EXPECT_EQ(select_instance(flags, env).table_format, InstanceTable::Format::kRegistry);
}

TEST(Selection, RejectsIdsThatCannotBeFileNames) {
  InstanceFlags flags;
  flags.id = "../evil";
  EXPECT_THROW(select_instance(flags, {}), ConfigError);
}

TEST(Resolution, UnknownIdListsKnownOnes) {
  try {
    resolve_instance(where("oserv7"), table(), {}, {}, std::nullopt, "sys");
    FAIL();
  } catch (const ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("oserv7"), std::string::npos) << m;
    EXPECT_NE(m.find("oserv, oserv1"), std::string::npos) << m;
  }
}

TEST(Resolution, UnknownIdRunsWithExplicitDbdir) {
  InstanceFlags flags;
  flags.dbdir = "/tmp/x";
  auto r = resolve_instance(where("oserv7"), table(), flags, {}, std::nullopt, "sys");
  EXPECT_FALSE(r.registered);
  EXPECT_EQ(r.dbdir, "/tmp/x");
}

TEST(Wlocalhost, FirstNonBlankNonCommentLine) {
  EXPECT_EQ(*parse_wlocalhost("\n  # c\n  black.example.com  \nother\n"), "black.example.com");
  EXPECT_FALSE(parse_wlocalhost("\n\n# only comments\n"));
}

}  // namespace
}  // namespace openoserv
