// Fuzz target over what the daemons read from disk: the object database's records
// (domain/Records.h, a damaged data.mdb), the instances file and registry export
// (instance/InstanceTable.h) and lcfd's lcf.dat (endpoint/LcfDat.h). The first byte picks the
// reader, the rest is its input; each either returns or throws an exception that names what
// it found (std::exception); never a crash, a hang, a read out of bounds or another exception
// (a CORBA one from the CDR decoder, say). With clang (-DOPENOSERV_FUZZ=ON) a libFuzzer target;
// otherwise RecordsFuzzDriver.cc runs it over mutated valid inputs under ctest.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "InstanceTable.h"
#include "LcfDat.h"
#include "Records.h"

using namespace openoserv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 9) {
      case 0: records::decode_od(2, in); break;
      case 1: records::decode_administrator("alice", in); break;
      case 2: records::decode_endpoint("ep1", in); break;
      case 3: records::decode_gateway("gw1", in); break;
      case 4: records::decode_class("Printer", in); break;
      case 5: records::decode_string(in); break;
      case 6: InstanceTable::parse_instances_file(std::string(in), "instances"); break;
      case 7: InstanceTable::parse_registry(std::string(in), "oserv.reg"); break;
      case 8: lcf::parse_lcf_dat(std::string(in), "lcf.dat"); break;
    }
  } catch (const std::exception&) {
  }
  return 0;
}
