// How the domain reports an operation it cannot do: a complete sentence for the operator, naming
// the thing (OID, dispatcher, file) and, where there is one, what to do. The servants send it to
// the caller as OServ::Failed; nothing else is added on the way.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace openoserv {

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Another dispatcher did not answer at all (down, hung, unreachable), as opposed to answering
// with a refusal, which arrives as a plain Failure carrying its own sentence.
class Unreachable : public Failure {
 public:
  Unreachable(std::uint32_t od, const std::string& message) : Failure(message), od_(od) {}
  std::uint32_t od() const { return od_; }

 private:
  std::uint32_t od_;
};

// The caller may not do this (a method's role, checked past the request's own rule): the
// servants answer CORBA::NO_PERMISSION, as the access check does.
class PermissionDenied : public Failure {
 public:
  using Failure::Failure;
};

[[noreturn]] inline void fail(const std::string& reason) { throw Failure(reason); }

}  // namespace openoserv
