// The xenstore wire codec: encoding, cutting a byte stream into messages
// (including hostile streams), fields, permissions and error names.
#include <errno.h>
#include <string.h>

#include <tuple>

#include <gtest/gtest.h>

#include "atoll/xs_codec.h"

namespace atl::xs {
namespace {

std::string header_bytes(uint32_t type, uint32_t req_id, uint32_t tx_id, uint32_t len) {
  xsd_sockmsg h{type, req_id, tx_id, len};
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

TEST(XsCodec, EncodePutsTheHeaderFieldsInXenOrder) {
  std::string m = encode(XS_WRITE, 7, 3, std::string("a\0b", 3));
  ASSERT_EQ(m.size(), 16u + 3);
  xsd_sockmsg h;
  memcpy(&h, m.data(), sizeof h);
  EXPECT_EQ(h.type, uint32_t{XS_WRITE});
  EXPECT_EQ(h.req_id, 7u);
  EXPECT_EQ(h.tx_id, 3u);
  EXPECT_EQ(h.len, 3u);
  EXPECT_EQ(m.substr(16), std::string("a\0b", 3));
  // ABI: the header layout xs_wire.h defines.
  EXPECT_EQ(offsetof(xsd_sockmsg, req_id), 4u);
  EXPECT_EQ(offsetof(xsd_sockmsg, tx_id), 8u);
  EXPECT_EQ(offsetof(xsd_sockmsg, len), 12u);
}

TEST(XsCodec, NulFieldsTerminatesEveryField) {
  EXPECT_EQ(nul_fields({"path", "token"}), std::string("path\0token\0", 11));
  EXPECT_EQ(nul_fields({""}), std::string("\0", 1));
}

TEST(XsCodec, SplitFieldsAcceptsAMissingFinalNul) {
  auto f = split_fields(std::string("a\0bc\0d", 6));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "bc");
  EXPECT_EQ(f[2], "d");
  EXPECT_TRUE(split_fields("").empty());
  EXPECT_EQ(split_fields(std::string("\0", 1)).size(), 1u);  // one empty name
}

TEST(XsCodec, ParserReassemblesMessagesFedOneByteAtATime) {
  std::string stream = encode(XS_READ, 1, 0, "value") + encode(XS_WATCH_EVENT, 0, 0, std::string("p\0t\0", 4));
  MessageParser parser;
  std::vector<Message> got;
  for (char c : stream) {
    parser.feed(&c, 1);
    while (auto m = parser.next()) got.push_back(std::move(*m));
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].header.req_id, 1u);
  EXPECT_EQ(got[0].payload, "value");
  EXPECT_EQ(got[1].header.type, uint32_t{XS_WATCH_EVENT});
  EXPECT_EQ(parser.buffered(), 0u);
  EXPECT_FALSE(parser.failed());
}

TEST(XsCodec, ParserYieldsSeveralMessagesFromOneChunk) {
  std::string stream = encode(XS_READ, 1, 0, "") + encode(XS_READ, 2, 0, "x") + encode(XS_READ, 3, 0, "yy");
  MessageParser parser;
  parser.feed(stream.data(), stream.size());
  for (uint32_t id = 1; id <= 3; ++id) {
    auto m = parser.next();
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->header.req_id, id);
    EXPECT_EQ(m->payload.size(), id - 1);
  }
  EXPECT_FALSE(parser.next().has_value());
}

TEST(XsCodec, TruncatedHeaderYieldsNothingYet) {
  std::string h = header_bytes(XS_READ, 1, 0, 0);
  MessageParser parser;
  parser.feed(h.data(), 15);
  EXPECT_FALSE(parser.next().has_value());
  EXPECT_EQ(parser.buffered(), 15u);
  parser.feed(h.data() + 15, 1);
  EXPECT_TRUE(parser.next().has_value());
}

TEST(XsCodec, LengthBeyondThePayloadMaximumStopsTheParserForGood) {
  std::string lie = header_bytes(XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1);
  MessageParser parser;
  parser.feed(lie.data(), lie.size());
  EXPECT_FALSE(parser.next().has_value());
  EXPECT_TRUE(parser.failed());
  std::string good = encode(XS_READ, 2, 0, "ok");
  parser.feed(good.data(), good.size());
  EXPECT_FALSE(parser.next().has_value());
}

TEST(XsCodec, LengthAtThePayloadMaximumIsAccepted) {
  std::string m = encode(XS_READ, 1, 0, std::string(XENSTORE_PAYLOAD_MAX, 'v'));
  MessageParser parser;
  parser.feed(m.data(), m.size());
  auto got = parser.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload.size(), size_t{XENSTORE_PAYLOAD_MAX});
}

TEST(XsCodec, UnknownTypesPassThroughForTheRouterToJudge) {
  std::string m = encode(0xBEEF, 9, 0, "?");
  MessageParser parser;
  parser.feed(m.data(), m.size());
  auto got = parser.next();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->header.type, 0xBEEFu);
  EXPECT_FALSE(parser.failed());
}

TEST(XsCodec, WatchEventNeedsPathAndToken) {
  auto ok = parse_watch_event(std::string("control/shutdown\0tok\0", 21));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->path, "control/shutdown");
  EXPECT_EQ(ok->token, "tok");
  EXPECT_TRUE(parse_watch_event(std::string("a\0b", 3)).has_value());  // final NUL missing
  EXPECT_FALSE(parse_watch_event("no-nul-at-all").has_value());
  EXPECT_FALSE(parse_watch_event(std::string("path\0", 5)).has_value());
  EXPECT_FALSE(parse_watch_event(std::string("\0tok\0", 5)).has_value());
  EXPECT_FALSE(parse_watch_event("").has_value());
}

TEST(XsCodec, DecimalRejectsSignsSpacesAndOverflow) {
  EXPECT_EQ(parse_decimal("0", 10), 0u);
  EXPECT_EQ(parse_decimal("4294967295", UINT32_MAX), 4294967295u);
  EXPECT_FALSE(parse_decimal("4294967296", UINT32_MAX).has_value());
  EXPECT_FALSE(parse_decimal("99999999999", UINT32_MAX).has_value());
  EXPECT_FALSE(parse_decimal("11", 10).has_value());
  EXPECT_FALSE(parse_decimal("-1", 10).has_value());
  EXPECT_FALSE(parse_decimal("+1", 10).has_value());
  EXPECT_FALSE(parse_decimal(" 1", 10).has_value());
  EXPECT_FALSE(parse_decimal("", 10).has_value());
}

TEST(XsCodec, PermissionsRoundTrip) {
  for (auto [text, access, domid] : {std::tuple{"n0", Access::kNone, 0}, {"r5", Access::kRead, 5},
                                     {"w32752", Access::kWrite, 32752}, {"b65535", Access::kBoth, 65535}}) {
    auto p = parse_permission(text);
    ASSERT_TRUE(p.has_value()) << text;
    EXPECT_EQ(p->access, access);
    EXPECT_EQ(p->domid, DomId(static_cast<uint16_t>(domid)));
    EXPECT_EQ(format_permission(*p), text);
  }
  EXPECT_FALSE(parse_permission("x1").has_value());
  EXPECT_FALSE(parse_permission("r").has_value());
  EXPECT_FALSE(parse_permission("r65536").has_value());
  EXPECT_FALSE(parse_permission("").has_value());
}

TEST(XsCodec, EveryNameInXenErrorTableMapsToItsErrno) {
  // xs_wire.h's own table (built here with Linux errno values, which are Xen's).
  for (const auto& e : xsd_errors) EXPECT_EQ(to_int(errno_from_name(e.errstring)), e.errnum) << e.errstring;
}

TEST(XsCodec, ErrorNamesWithDetailOrNulAndUnknownNames) {
  EXPECT_EQ(errno_from_name(std::string("ENOENT\0", 7)), Errno::kNoEnt);
  EXPECT_EQ(errno_from_name("EINVAL: Could not convert 'x' to int"), Errno::kInval);
  EXPECT_EQ(errno_from_name("EQUOTA"), kErrQuota);
  EXPECT_EQ(to_int(kErrQuota), EDQUOT);
  EXPECT_EQ(errno_from_name("EAGAIN"), Errno::kAgain);
  EXPECT_EQ(errno_from_name("E2BIG"), Errno::kTooBig);
  EXPECT_EQ(errno_from_name("EWHATEVER"), Errno::kIo);
  EXPECT_EQ(errno_from_name(""), Errno::kIo);
  EXPECT_EQ(errno_from_name("enoent"), Errno::kIo);  // names are case-sensitive on the wire
}

}  // namespace
}  // namespace atl::xs
