# A client on Combat, a pure-Tcl ORB independent of omniORB: calls openoserv objects through
# their references and prints one line per result, which combat_test.sh checks.
#   tclsh combat_client.tcl IR_FILE DISPATCHER_REF NODE_REF NODE_URL PRINTER_URL
# (references: IORs or corbaloc URLs; NODE_REF at the owner, NODE_URL at a relaying dispatcher)
lassign $argv ir dispatcher_ior node_ior node_url printer_url
source $ir
# Combat takes its native code set's bytes for characters, which is right only for an 8-bit code
# set: with ISO 8859-1 it negotiates UTF-8 with the oserv (its IORs say so) and converts.
corba::init -ORBNativeCodeSet iso8859-1

set node [corba::string_to_object $node_ior]
# A corbaloc reference carries no type: _is_a tells Combat the interface.
$node _is_a IDL:OServ/ManagedNode:1.0
puts "ior hostname: [$node hostname]"
puts "ior oid: [$node oid]"
puts "ior class_name: [$node class_name]"

# A corbaloc URL with a class-less OID, at a dispatcher that relays to the owner.
set relayed [corba::string_to_object $node_url]
puts "url is_a ManagedNode: [$relayed _is_a IDL:OServ/ManagedNode:1.0]"
puts "url ping: [$relayed ping]"
puts "url hostname: [$relayed hostname]"

set printer [corba::string_to_object $printer_url]
puts "printer is_a Object: [$printer _is_a IDL:OServ/Object:1.0]"
array set result [$printer invoke say {from tcl}]
puts "printer exit_code: $result(exit_code)"
puts "printer output: [string trim $result(output)]"
corba::try {
  $printer invoke nosuch {}
  puts "nosuch: no exception"
} catch {IDL:OServ/Failed:1.0 e} {
  array set failed [lindex $e 1]
  puts "nosuch Failed: $failed(reason)"
}

set d [corba::string_to_object $dispatcher_ior]
$d _is_a IDL:OServ/Dispatcher:1.0
foreach entry [$d odlist] {
  array set od $entry
  puts "odlist: $od(od) $od(ipaddr) connected=$od(connected)"
}
