// Typed attributes (a CORBA any, stored by records::encode_any): every basic type round-trips,
// both byte orders decode, damaged bytes are refused with an error (never a crash), and the
// domain's ORB-less string attributes are byte for byte an any holding the string.
#include <gtest/gtest.h>

#include <random>

#include "Failure.h"
#include "Records.h"

namespace openoserv {
namespace {

using records::decode_any;
using records::encode_any;

// An any's value buffer takes its code sets from the ORB, as in the oserv.
class OrbEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    int argc = 1;
    char arg0[] = "attribute_records_test";
    char* argv[] = {arg0, nullptr};
    const char* options[][2] = {{"nativeCharCodeSet", "UTF-8"}, {nullptr, nullptr}};
    orb_ = CORBA::ORB_init(argc, argv, "omniORB4", options);
  }
  void TearDown() override { orb_->destroy(); }

 private:
  CORBA::ORB_var orb_;
};
const auto* const kOrb = ::testing::AddGlobalTestEnvironment(new OrbEnvironment);

TEST(Records, AttributesRoundTripBasicTypes) {
  CORBA::Any in, out;
  in <<= static_cast<CORBA::Long>(-42);
  decode_any(encode_any(in), out);
  CORBA::Long l = 0;
  ASSERT_TRUE(out >>= l);
  EXPECT_EQ(l, -42);

  in <<= "black.itsc.austin.ibm.com café";
  decode_any(encode_any(in), out);
  const char* s = nullptr;
  ASSERT_TRUE(out >>= s);
  EXPECT_STREQ(s, "black.itsc.austin.ibm.com café");

  in <<= static_cast<CORBA::Double>(2.5);
  decode_any(encode_any(in), out);
  CORBA::Double d = 0;
  ASSERT_TRUE(out >>= d);
  EXPECT_EQ(d, 2.5);

  EXPECT_EQ(records::decode_string(records::encode_string("echo hi")), "echo hi");
  in <<= static_cast<CORBA::Long>(1);
  EXPECT_EQ(records::decode_string(encode_any(in)), std::nullopt);
}

TEST(Records, AttributesOfTheOtherByteOrderDecode) {
  // A big-endian CDR any holding the long 0x01020304 (type code tk_long = 3), as a node of the
  // other endianness would have stored it.
  std::string bytes(8, '\0');
  const unsigned char cdr[] = {0, 0, 0, 3, 1, 2, 3, 4};
  bytes.append(reinterpret_cast<const char*>(cdr), sizeof cdr);
  CORBA::Any out;
  decode_any(bytes, out);
  CORBA::Long l = 0;
  ASSERT_TRUE(out >>= l);
  EXPECT_EQ(l, 0x01020304);
}

TEST(Records, DamagedAttributesAreRefused) {
  CORBA::Any in;
  in <<= "a string attribute with some length to it";
  const std::string good = encode_any(in);
  EXPECT_THROW(decode_any("", in), Failure);
  EXPECT_THROW(decode_any(std::string(8, '\7'), in), Failure);
  EXPECT_THROW(decode_any(good + "trailing", in), Failure);
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
      decode_any(bad, out);
    } catch (const Failure&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(Records, StringAttributesAreAnysHoldingTheString) {
  CORBA::Any any;
  any <<= "echo task on $(hostname) café";
  EXPECT_EQ(records::encode_string("echo task on $(hostname) café"), encode_any(any));
  CORBA::Any back;
  decode_any(records::encode_string("x"), back);
  const char* s = nullptr;
  ASSERT_TRUE(back >>= s);
  EXPECT_STREQ(s, "x");
}

}  // namespace
}  // namespace openoserv
