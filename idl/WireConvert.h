// The one conversion between the wire's IDL types and the domain's plain types, used by the
// servants, by the calls to other dispatchers and by the commands.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "Peers.h"
#include "Records.h"
#include "oserv.hh"

namespace openoserv::wire {

OServ::OdEntries odlist(const std::vector<OdRecord>& records);  // connected: FALSE
// Throws Failure naming the entry when one is incomplete (no od, port or address).
std::vector<OdRecord> odlist(const OServ::OdEntries& entries);

OServ::StringList strings(const std::vector<std::string>& list);
std::vector<std::string> strings(const OServ::StringList& list);

OServ::MethodResult result(const MethodOutcome& outcome);
MethodOutcome result(const OServ::MethodResult& result);

OServ::MethodDefs methods(const std::vector<MethodDef>& methods);
std::vector<MethodDef> methods(const OServ::MethodDefs& methods);

OServ::NameEntries names(const std::vector<NameEntry>& names);
std::vector<NameEntry> names(const OServ::NameEntries& names);

// Roles travel as Tivoli's text ("super:senior"); an unknown role name fails naming it.
OServ::GatewayEntry gateway(const GatewayRecord& record);
GatewayRecord gateway(const OServ::GatewayEntry& entry);
OServ::GatewayEntries gateways(const std::vector<GatewayRecord>& records);
std::vector<GatewayRecord> gateways(const OServ::GatewayEntries& entries);
OServ::EndpointEntry endpoint(const EndpointRecord& record);
EndpointRecord endpoint(const OServ::EndpointEntry& entry);
OServ::EndpointEntries endpoints(const std::vector<EndpointRecord>& records);
std::vector<EndpointRecord> endpoints(const OServ::EndpointEntries& entries);

OServ::AdminEntries admins(const std::vector<AdministratorRecord>& admins);
std::vector<AdministratorRecord> admins(const OServ::AdminEntries& admins);
OServ::AdminEntry admin(const AdministratorRecord& admin);
AdministratorRecord admin(const OServ::AdminEntry& admin);

// The `odadmin` status block in Tivoli's order: {"Region", "1234"}, ... A line without a name
// (the version and copyright lines, and the blank line after them) has an empty first.
std::vector<std::pair<std::string, std::string>> status_lines(const OServ::StatusBlock& s);

}  // namespace openoserv::wire
