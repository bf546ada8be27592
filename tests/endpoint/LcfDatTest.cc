// lcf.dat: the round trip, every truncation and every one-byte change refused with a sentence
// naming the file, a second copy kept as .bak, mode 0600; Tivoli's gateway lists.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/core.h>

#include "LcfDat.h"
#include "TextFile.h"

namespace openoserv::lcf {
namespace {

LcfDat sample() {
  return {.label = "brown-ep",
          .oid = "1669180253.2.7#TMF_Endpoint::Endpoint#",
          .key = "6f1c0a",
          .gateway = {"10.0.0.2", 9494},
          .alternates = {{"10.0.0.3", 9494}, {"gw4", 9495}},
          .login_interfaces = {{"10.0.0.2", 9494}},
          .last_login = 1764300000};
}

TEST(LcfDat, RoundTrip) {
  EXPECT_EQ(parse_lcf_dat(serialize(sample()), "lcf.dat"), sample());
  LcfDat empty;
  EXPECT_EQ(parse_lcf_dat(serialize(empty), "lcf.dat"), empty);
}

TEST(LcfDat, EveryTruncationAndEveryChangedByteIsRefused) {
  const std::string text = serialize(sample());
  for (size_t n = 0; n < text.size(); ++n) {
    try {
      parse_lcf_dat(text.substr(0, n), "/x/lcf.dat");
      ADD_FAILURE() << "a file cut at " << n << " bytes was taken";
    } catch (const LcfDatError& e) {
      EXPECT_NE(std::string(e.what()).find("/x/lcf.dat: damaged"), std::string::npos) << e.what();
    }
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string changed = text;
    changed[i] ^= 0x01;
    EXPECT_THROW(parse_lcf_dat(changed, "lcf.dat"), LcfDatError) << "byte " << i;
  }
}

TEST(LcfDat, SavedAtomicallyPrivateWithACopy) {
  const std::string dir = fmt::format("{}/lcfdat-{}", ::testing::TempDir(), ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/lcf.dat";
  EXPECT_EQ(load_lcf_dat(path), std::nullopt);
  LcfDat first = sample();
  save_lcf_dat(path, first);
  LcfDat second = first;
  second.gateway = {"10.0.0.3", 9494};
  second.region_ca = "ab12";
  save_lcf_dat(path, second);
  EXPECT_EQ(load_lcf_dat(path), second);
  EXPECT_EQ(load_lcf_dat(path + ".bak"), second);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  write_file_atomically(path, read_text_file(path)->substr(0, 40), 0600);
  EXPECT_THROW(load_lcf_dat(path), LcfDatError);
  std::filesystem::remove_all(dir);
}

TEST(LcfDat, GatewayLists) {
  EXPECT_EQ(parse_gateways("gw", 9494), (std::vector<GatewayAddress>{{"gw", 9494}}));
  EXPECT_EQ(parse_gateways("gw1+9495:10.0.0.3", 9494),
            (std::vector<GatewayAddress>{{"gw1", 9495}, {"10.0.0.3", 9494}}));
  EXPECT_THROW(parse_gateways("gw1::gw2", 9494), std::invalid_argument);
  EXPECT_THROW(parse_gateways("gw+0", 9494), std::invalid_argument);
  EXPECT_THROW(parse_gateways("gw+x", 9494), std::invalid_argument);
  EXPECT_THROW(parse_gateways("+9494", 9494), std::invalid_argument);
  EXPECT_EQ((GatewayAddress{"gw", 9494}).text(), "gw+9494");
}

}  // namespace
}  // namespace openoserv::lcf
