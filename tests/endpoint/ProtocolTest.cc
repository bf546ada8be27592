// The endpoint protocol's frames: messages survive the round trip whatever the chunking of the
// stream; every malformed header or payload is a ProtocolError naming it, never a frame.
#include <gtest/gtest.h>

#include <string>

#include "Protocol.h"

namespace openoserv::lcf {
namespace {

Lcf::Login sample_login() {
  Lcf::Login login;
  login.protocol = 1;
  login.kind = "initial";
  login.label = "brown-ep";
  login.oid = "";
  login.key = "";
  login.interp = "linux-x86_64";
  login.address = "127.0.0.5";
  login.port = 9495;
  return login;
}

TEST(Protocol, AMessageSurvivesTheRoundTripInAnyChunking) {
  Lcf::Downcall call;
  call.oid = "1669180253.2.7#TMF_Endpoint::Endpoint#";
  call.method = "say";
  call.args.length(2);
  call.args[0] = "café";
  call.args[1] = "";
  call.digest = std::string(64, 'a').c_str();
  call.timeout = 30;
  const std::string bytes = encode(Type::kLogin, 7, sample_login()) +
                            encode(Type::kDowncall, 8, call) +
                            encode(Type::kHeartbeat, 0, Lcf::Heartbeat{123456789012ull});
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{13}, bytes.size()}) {
    FrameReader reader;
    std::vector<Frame> frames;
    for (size_t at = 0; at < bytes.size(); at += chunk) {
      reader.feed(std::string_view(bytes).substr(at, chunk));
      while (auto f = reader.next()) frames.push_back(std::move(*f));
    }
    ASSERT_EQ(frames.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(reader.buffered(), 0u);
    EXPECT_EQ(frames[0].type, Type::kLogin);
    EXPECT_EQ(frames[0].id, 7u);
    const auto login = decode<Lcf::Login>(frames[0]);
    EXPECT_STREQ(login.label.in(), "brown-ep");
    EXPECT_EQ(login.port, 9495);
    const auto got = decode<Lcf::Downcall>(frames[1]);
    EXPECT_STREQ(got.args[0].in(), "café");
    EXPECT_EQ(got.timeout, 30u);
    EXPECT_EQ(decode<Lcf::Heartbeat>(frames[2]).sent, 123456789012ull);
  }
}

TEST(Protocol, HeaderFaultsAreNamed) {
  const std::string good = encode(Type::kUpcallAck, 1, Lcf::UpcallAck{42});
  auto error_of = [](std::string bytes) {
    FrameReader reader;
    reader.feed(bytes);
    try {
      reader.next();
    } catch (const ProtocolError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string bad = good;
  bad[0] = 'G';  // a GIOP peer, say
  EXPECT_NE(error_of(bad).find("no \"LC\" magic"), std::string::npos);
  bad = good;
  bad[2] = 2;
  EXPECT_NE(error_of(bad).find("protocol version 2"), std::string::npos);
  bad = good;
  bad[3] = 99;
  EXPECT_NE(error_of(bad).find("unknown frame type 99"), std::string::npos);
  bad = good;
  bad[4] = '\x7f';  // a length of about 2 GB: refused before anything is waited for
  EXPECT_NE(error_of(bad).find("over the limit"), std::string::npos);
}

// A gateway takes small frames only until a session's login is accepted.
TEST(Protocol, ALoweredLimitRefusesALargerFrameAtItsHeader) {
  FrameReader reader;
  reader.limit(16);
  reader.feed(encode(Type::kHeartbeat, 0, Lcf::Heartbeat{}));
  EXPECT_TRUE(reader.next().has_value());  // within 16 bytes
  std::string header = encode(Type::kLogin, 0, Lcf::Login{}).substr(0, 12);
  header[4] = 0, header[5] = 1, header[6] = 0, header[7] = 0;  // 65,536 bytes announced
  reader.limit(kMaxPayloadBeforeLogin - 1);
  reader.feed(header);
  try {
    reader.next();
    ADD_FAILURE() << "a frame over the limit was waited for";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "a Login frame announces 65536 bytes, over the limit of 65535");
  }
  FrameReader raised;
  raised.limit(8);
  raised.limit(kMaxPayload + 1);  // never above kMaxPayload
  header[4] = 1, header[5] = 1;   // 16 MB + 64 KB
  raised.feed(header);
  EXPECT_THROW(raised.next(), ProtocolError);
}

TEST(Protocol, APayloadMustBeExactlyOneMessageOfItsType) {
  FrameReader reader;
  reader.feed(encode(Type::kLogin, 1, sample_login()));
  Frame frame = *reader.next();
  EXPECT_THROW(decode<Lcf::Heartbeat>(frame), ProtocolError);  // not its type
  Frame cut = frame;
  cut.payload.resize(cut.payload.size() - 3);
  EXPECT_THROW(decode<Lcf::Login>(cut), ProtocolError);
  Frame longer = frame;
  longer.payload += "xyz";
  EXPECT_THROW(decode<Lcf::Login>(longer), ProtocolError);
  Frame flag = frame;
  flag.payload[0] = 7;
  EXPECT_THROW(decode<Lcf::Login>(flag), ProtocolError);
  Frame empty{Type::kLogin, 1, ""};
  EXPECT_THROW(decode<Lcf::Login>(empty), ProtocolError);
}

TEST(Protocol, AnOversizedMessageIsNotSent) {
  Lcf::MethodBody body;
  body.digest = "x";
  body.program.length(kMaxPayload + 1);
  EXPECT_THROW(encode(Type::kMethodBody, 1, body), ProtocolError);
}

TEST(Protocol, DiscoveryDatagrams) {
  EXPECT_EQ(discovery_request("ep1"), "LCF-DISCOVER 1 ep1\n");
  EXPECT_EQ(parse_discovery_request("LCF-DISCOVER 1 ep1\n"), "ep1");
  const DiscoveryAnswer a{"gw1", "10.0.0.3", 9494};
  const auto back = parse_discovery_answer(discovery_answer(a));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->label, "gw1");
  EXPECT_EQ(back->host, "10.0.0.3");
  EXPECT_EQ(back->port, 9494);
  // Anything else is not ours: ignored, never half-understood.
  for (const char* bad : {"", "\n", "LCF-DISCOVER 1 ep1", "LCF-DISCOVER 2 ep1\n",
                          "LCF-DISCOVER 1 ep 1\n", "LCF-DISCOVER 1  ep1\n", "LCF-DISCOVER 1 ep1 \n",
                          "LCF-DISCOVER 1 e\tp\n", "LCF-GATEWAY 1 gw1 10.0.0.3+9494\n"})
    EXPECT_FALSE(parse_discovery_request(bad)) << bad;
  for (const char* bad : {"LCF-GATEWAY 1 gw1 10.0.0.3\n", "LCF-GATEWAY 1 gw1 +9494\n",
                          "LCF-GATEWAY 1 gw1 h+0\n", "LCF-GATEWAY 1 gw1 h+70000\n",
                          "LCF-GATEWAY 1 gw1 h+94x\n", "LCF-DISCOVER 1 ep1\n"})
    EXPECT_FALSE(parse_discovery_answer(bad)) << bad;
  EXPECT_FALSE(parse_discovery_request("LCF-DISCOVER 1 " + std::string(300, 'x') + "\n"));
}

}  // namespace
}  // namespace openoserv::lcf
