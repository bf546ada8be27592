// Objects, classes, names and method dispatch.
//
// An OID is "<region>.<od>.<n>#<class>#": the object lives on dispatcher <od>, in its objects
// table under "<region>.<od>.<n>" (value: the class). A call made at any dispatcher is forwarded
// to the owner (a method thread in state rwait here), which runs the method as a method thread
// in state run: built-in for the framework classes, else the program the class names for it.
// Names ("<resource>/<label>" -> OID) and installed classes are kept at the TMR server; classes
// are also sent to, and cached by, every dispatcher.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "DispatcherState.h"
#include "MethodThreads.h"
#include "oserv.hh"

namespace openoserv {

inline constexpr const char* kManagedNodeClass = "TMF_ManagedNode::Managed_Node";
inline constexpr const char* kTaskLibraryClass = "TMF_TaskLibrary::TaskLibrary";

struct Oid {
  std::uint32_t region = 0, od = 0;
  std::uint64_t n = 0;
  std::string cls;
  std::string key() const;   // "<region>.<od>.<n>"
  std::string text() const;  // "<region>.<od>.<n>#<class>#"
  // Throws OServ::Failed naming the text when it is not an OID.
  static Oid parse(const std::string& text);
};

class Objects {
 public:
  Objects(DispatcherState& state, MethodThreads& threads, unsigned method_timeout_ms);

  OServ::MethodResult invoke(const std::string& oid, const std::string& method,
                             const std::vector<std::string>& args);
  std::string create_object(const std::string& cls, const std::string& resource,
                            const std::string& label);

  std::string lookup(const std::string& resource, const std::string& label);
  std::vector<std::string> list_names(const std::string& resource);
  void register_name(const std::string& resource, const std::string& label,
                     const std::string& oid);

  void install_method(const std::string& cls, const std::string& method,
                      const std::string& program);
  void store_class(const std::string& cls, const std::vector<OServ::MethodDef>& methods);
  std::vector<OServ::MethodDef> class_methods(const std::string& cls);

  // This dispatcher's ManagedNode object (n = 1), created if missing and named at the TMR
  // server under its logical host. Throws when the TMR server does not answer.
  void ensure_managed_node();

 private:
  bool run_builtin(const Oid& oid, const std::string& method, const std::vector<std::string>& args,
                   OServ::MethodResult& result);
  OServ::MethodResult run_installed(const Oid& oid, const std::string& method,
                                    const std::vector<std::string>& args);
  OServ::MethodResult run_script(const Oid& oid, const std::string& script);
  OServ::MethodResult run_task(const Oid& oid, const std::vector<std::string>& args);

  DispatcherState& state_;
  MethodThreads& threads_;
  unsigned method_timeout_ms_;
  std::mutex create_mu_;
};

}  // namespace openoserv
