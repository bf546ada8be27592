// Objects without an ORB: calls relayed to the owner (a method thread in rwait at the caller, in
// run at the owner), built-in methods, names and classes kept at the TMR server and sent to every
// node, task libraries, where an object is, and errors that name the object or dispatcher.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <thread>

#include "InProcessRegion.h"

namespace openoserv {
namespace {

using testing::InProcessRegion;
using testing::eventually;

std::string script(const std::string& dir, const std::string& name, const std::string& body) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0755);
  return path;
}

bool has_thread(LocalDispatcher& d, const std::string& state, const std::string& method) {
  for (const auto& t : d.threads.list())
    if (t.state == state && t.method == method) return true;
  return false;
}

TEST(Objects, ManagedNodesAreNamedAndAnswerTheirBuiltInsFromAnyDispatcher) {
  InProcessRegion r("objects_nodes");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  for (auto* d : {&r.tmr(), &n2, &n3}) d->objects.ensure_managed_node();
  const std::string oid = n3.objects.lookup("ManagedNode", "node2");
  EXPECT_EQ(oid, fmt::format("{}.2.1#{}#", InProcessRegion::kRegion, kManagedNodeClass));
  EXPECT_EQ(n3.objects.invoke(oid, "hostname", {}).output, "node2\n");
  EXPECT_EQ(r.tmr().objects.invoke(oid, "ping", {}).output, "alive\n");
  EXPECT_EQ(n3.objects.invoke(oid, "oid", {}).output, oid + "\n");
  EXPECT_EQ(n2.objects.list_names("ManagedNode").size(), 3u);
  EXPECT_THROW(n3.objects.lookup("ManagedNode", "nosuch"), Failure);
}

TEST(Objects, ARelayedCallWaitsAtTheCallerAndRunsAtTheOwner) {
  InProcessRegion r("objects_relay");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  const std::string gate = r.dir() + "/release";
  n3.objects.install_method(
      "Sleeper", "gate",
      script(r.dir(), "gate.sh",
             "while [ ! -e " + gate + " ]; do sleep 0.05; done\necho \"ran on $OSERV_DISPATCHER\"\n"));
  const std::string oid = n2.objects.create_object("Sleeper", "Sleeper", "napper");
  auto call = std::async(std::launch::async, [&] { return n3.objects.invoke(oid, "gate", {}); });
  EXPECT_TRUE(eventually([&] { return has_thread(n2, "run", "gate"); })) << "not running at the owner";
  EXPECT_TRUE(has_thread(n3, "rwait", "gate")) << "the caller does not wait in rwait";
  std::ofstream(gate).put('x');
  const MethodOutcome out = call.get();
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.output, "ran on 2\n");
  EXPECT_TRUE(n3.threads.list().empty());
}

TEST(Objects, AnOwnerThatDoesNotAnswerIsNamed) {
  InProcessRegion r("objects_owner_down");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  n2.objects.ensure_managed_node();
  const std::string oid = n3.objects.lookup("ManagedNode", "node2");
  r.set_down(2, true);
  try {
    n3.objects.invoke(oid, "ping", {});
    FAIL() << "a call on a down owner succeeded";
  } catch (const Failure& e) {
    EXPECT_EQ(std::string(e.what()), "ping on " + oid + ": dispatcher 2 does not answer (TRANSIENT)");
  }
  EXPECT_TRUE(n3.threads.list().empty()) << "the rwait thread outlived the call";
}

TEST(Objects, ClassesAreKeptAtTheTmrServerAndReachEveryNode) {
  InProcessRegion r("objects_classes");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  r.set_down(2, true);
  n3.objects.install_method("Printer", "say", "/bin/echo");
  EXPECT_EQ(r.tmr().objects.class_methods("Printer"), (std::vector<MethodDef>{{"say", "/bin/echo"}}));
  EXPECT_TRUE(eventually([&] { return n3.db.read(db::Table::kClasses, "Printer").has_value(); }))
      << "not sent to node 3";
  EXPECT_FALSE(n2.db.read(db::Table::kClasses, "Printer")) << "node 2 was down";
  r.set_down(2, false);
  EXPECT_EQ(n2.objects.class_methods("Printer").size(), 1u) << "fetched from the TMR server";
  EXPECT_TRUE(n2.db.read(db::Table::kClasses, "Printer")) << "and kept";
  n2.objects.install_method("Printer", "say", "/bin/true");  // replaced, not added
  EXPECT_EQ(r.tmr().objects.class_methods("Printer"), (std::vector<MethodDef>{{"say", "/bin/true"}}));
  EXPECT_THROW(n2.objects.install_method("Printer", "say", "relative/path"), Failure);
}

TEST(Objects, ConcurrentInstallsReachEveryNodeInTheirFinalState) {
  InProcessRegion r("objects_class_race");
  auto& n2 = r.add_node();
  auto& n3 = r.add_node();
  std::vector<std::thread> installers;
  for (int i = 0; i < 8; ++i)
    installers.emplace_back([&, i] {
      (i % 2 ? n2 : n3).objects.install_method("Printer", fmt::format("m{}", i), "/bin/true");
    });
  for (auto& t : installers) t.join();
  const auto final_record = r.tmr().db.read(db::Table::kClasses, "Printer");
  ASSERT_TRUE(final_record);
  EXPECT_EQ(records::decode_class("Printer", *final_record).size(), 8u) << "an install was lost";
  for (auto* node : {&n2, &n3})
    EXPECT_TRUE(eventually([&] { return node->db.read(db::Table::kClasses, "Printer") == final_record; }))
        << "dispatcher " << node->info.od << " kept an older class record";
}

TEST(Objects, TaskLibrariesStoreTasksAndRunThemOnANode) {
  InProcessRegion r("objects_tasks");
  auto& n2 = r.add_node();
  n2.objects.ensure_managed_node();
  const std::string lib = r.tmr().objects.create_object(kTaskLibraryClass, "TaskLibrary", "lib");
  for (const char* task : {"b", "a", "c"})
    r.tmr().objects.invoke(lib, "add_task", {task, std::string("echo task ") + task});
  EXPECT_EQ(n2.objects.invoke(lib, "list_tasks", {}).output, "a\nb\nc\n");
  EXPECT_EQ(n2.objects.invoke(lib, "run_task", {"b", "node2"}).output, "task b\n");
  EXPECT_THROW(n2.objects.invoke(lib, "run_task", {"nosuch", "node2"}), Failure);
}

TEST(Objects, LocateKnowsWhereAndWhatAnObjectIs) {
  InProcessRegion r("objects_locate");
  auto& n2 = r.add_node();
  n2.objects.ensure_managed_node();
  const std::string key = fmt::format("{}.2.1", InProcessRegion::kRegion);
  auto local = n2.objects.locate(key);
  ASSERT_TRUE(local);
  EXPECT_TRUE(local->local);
  EXPECT_EQ(local->cls, kManagedNodeClass) << "from the database";
  auto remote = r.tmr().objects.locate(key);
  ASSERT_TRUE(remote);
  EXPECT_FALSE(remote->local);
  EXPECT_EQ(remote->cls, kManagedNodeClass) << "asked of the owner";
  EXPECT_FALSE(r.tmr().objects.locate(fmt::format("{}.2.99", InProcessRegion::kRegion)));
  EXPECT_FALSE(n2.objects.locate(fmt::format("{}.2.1#Other#", InProcessRegion::kRegion)))
      << "the wrong class";
  EXPECT_FALSE(n2.objects.locate("1.2.1")) << "another region";
  EXPECT_FALSE(n2.objects.locate("not an oid"));
}

TEST(Objects, CreatedObjectsAreNamedAndATakenNameLeavesNoObject) {
  InProcessRegion r("objects_create");
  auto& n2 = r.add_node();
  const std::string a = n2.objects.create_object("Printer", "Printer", "p1");
  const std::string b = n2.objects.create_object("Printer", "Printer", "p2");
  EXPECT_NE(a, b);
  EXPECT_EQ(r.tmr().objects.lookup("Printer", "p1"), a);
  const auto objects_before = n2.db.scan(db::Table::kObjects).size();
  EXPECT_THROW(n2.objects.create_object("Printer", "Printer", "p1"), Failure);
  EXPECT_EQ(n2.db.scan(db::Table::kObjects).size(), objects_before);
  EXPECT_THROW(n2.objects.create_object("Bad Class", "Printer", "x"), Failure);
}

TEST(Objects, MethodOutputIsValidUtf8) {
  InProcessRegion r("objects_utf8");
  auto& n2 = r.add_node();
  n2.objects.install_method("Printer", "say",
                            script(r.dir(), "say.sh", "printf 'caf\\303\\251 \\377 end'\nexit 3\n"));
  const std::string oid = n2.objects.create_object("Printer", "Printer", "p");
  const MethodOutcome out = r.tmr().objects.invoke(oid, "say", {});
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_EQ(out.output, "café \xEF\xBF\xBD end");
}

}  // namespace
}  // namespace openoserv
