// What every servant does at its boundary: run the domain call, and turn the domain's failures
// (Failure, db::DbError) into OServ::Failed with the same sentence. Nothing else is added.
#pragma once

#include <string>

#include "Database.h"
#include "Failure.h"
#include "RequestContext.h"
#include "oserv.hh"

namespace openoserv {

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const PermissionDenied& e) {
    RequestContext::note_refusal(e.what());
    throw CORBA::NO_PERMISSION(0, CORBA::COMPLETED_NO);
  } catch (const Failure& e) {
    throw OServ::Failed(e.what());
  } catch (const db::DbError& e) {
    throw OServ::Failed(e.what());
  }
}

inline char* dup(const std::string& s) { return CORBA::string_dup(s.c_str()); }

}  // namespace openoserv
