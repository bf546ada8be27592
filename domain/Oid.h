// Object ids: "<region>.<od>.<n>#<class>#", e.g. 1669180253.2.7#TMF_ManagedNode::Managed_Node#.
// The object lives on dispatcher <od> of region <region>, in its objects table under the key
// "<region>.<od>.<n>" (value: its class). The "#<class>#" part may be left out where an OID is
// typed (the owner knows the class).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace openoserv {

// The framework classes with interfaces of their own in idl/oserv.idl.
inline constexpr const char* kManagedNodeClass = "TMF_ManagedNode::Managed_Node";
inline constexpr const char* kTaskLibraryClass = "TMF_TaskLibrary::TaskLibrary";
inline constexpr const char* kEndpointManagerClass = "TMF_LCF::EndpointManager";
inline constexpr const char* kGatewayClass = "TMF_Gateway::Gateway";
inline constexpr const char* kEndpointClass = "TMF_Endpoint::Endpoint";
// Every dispatcher's own ManagedNode object is its object number 1.
inline constexpr std::uint64_t kManagedNodeObject = 1;

struct Oid {
  std::uint32_t region = 0, od = 0;
  std::uint64_t n = 0;
  std::string cls;  // empty when the text had no "#<class>#"

  std::string key() const;   // "<region>.<od>.<n>"
  std::string text() const;  // "<region>.<od>.<n>#<class>#" (or the key when cls is empty)
  // Throws Failure naming the text when it is not an OID.
  static Oid parse(std::string_view text);
  // Like parse, but returns false instead of throwing.
  static bool try_parse(std::string_view text, Oid& out);
};

// The key of object `oid`'s attribute `name` in the attributes table: "<region>.<od>.<n>/<name>"
// (the class part of the OID, if given, is not part of it). Throws Failure when `oid` is not an
// OID or `name` is empty or holds a '/'.
std::string attribute_key(std::string_view oid, std::string_view name);

// The OID as the object key of a corbaloc URL: every character outside the URL-safe set
// (RFC 2396 unreserved, as corbaloc requires) written as %XX, so '#' becomes %23.
std::string corbaloc_key(std::string_view oid);

}  // namespace openoserv
