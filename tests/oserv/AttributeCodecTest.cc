// Typed attributes: every basic type round-trips, both byte orders decode, damaged bytes are
// refused with an error (never a crash).
#include <gtest/gtest.h>

#include <random>

#include "AttributeCodec.h"

namespace openoserv {
namespace {

// String marshalling needs the ORB's code sets, as in the oserv.
class OrbEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int argc = 1;
    char arg0[] = "attribute_codec_test";
    char* argv[] = {arg0, nullptr};
    orb_ = CORBA::ORB_init(argc, argv);
  }
  void TearDown() override { orb_->destroy(); }

 private:
  CORBA::ORB_var orb_;
};
const auto* const kOrb = ::testing::AddGlobalTestEnvironment(new OrbEnvironment);

TEST(AttributeCodec, RoundTripsBasicTypes) {
  CORBA::Any in, out;
  in <<= static_cast<CORBA::Long>(-42);
  decode_attribute(encode_attribute(in), out);
  CORBA::Long l = 0;
  ASSERT_TRUE(out >>= l);
  EXPECT_EQ(l, -42);

  in <<= "black.itsc.austin.ibm.com";
  decode_attribute(encode_attribute(in), out);
  const char* s = nullptr;
  ASSERT_TRUE(out >>= s);
  EXPECT_STREQ(s, "black.itsc.austin.ibm.com");

  in <<= static_cast<CORBA::Double>(2.5);
  decode_attribute(encode_attribute(in), out);
  CORBA::Double d = 0;
  ASSERT_TRUE(out >>= d);
  EXPECT_EQ(d, 2.5);
}

TEST(AttributeCodec, ReadsTheOtherByteOrder) {
  // A big-endian CDR any holding the long 0x01020304 (type code tk_long = 3), as a node of the
  // other endianness would have stored it.
  std::string bytes(8, '\0');
  const unsigned char cdr[] = {0, 0, 0, 3, 1, 2, 3, 4};
  bytes.append(reinterpret_cast<const char*>(cdr), sizeof cdr);
  CORBA::Any out;
  decode_attribute(bytes, out);
  CORBA::Long l = 0;
  ASSERT_TRUE(out >>= l);
  EXPECT_EQ(l, 0x01020304);
}

TEST(AttributeCodec, DamagedBytesAreRefused) {
  CORBA::Any in;
  in <<= "a string attribute with some length to it";
  const std::string good = encode_attribute(in);
  EXPECT_THROW(decode_attribute("", in), std::runtime_error);
  EXPECT_THROW(decode_attribute(std::string(8, '\7'), in), std::runtime_error);
  std::mt19937 rng(7);
  int refused = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string bad = good;
    if (rng() % 2)
      bad.resize(8 + rng() % (bad.size() - 8));
    else
      for (int i = 0; i < 3; ++i) bad[8 + rng() % (bad.size() - 8)] = static_cast<char>(rng());
    CORBA::Any out;
    try {
      decode_attribute(bad, out);
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace openoserv
