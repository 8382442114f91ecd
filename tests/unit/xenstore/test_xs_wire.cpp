// The xs_wire codec and request parsing with malformed input: truncated
// headers, lengths that lie, oversize messages, missing or extra NULs, unknown
// types, bad paths. Each gets a clean error (or a broken stream the transport
// drops), and the daemon keeps serving.
#include <cstring>

#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

std::string header_bytes(uint32_t type, uint32_t req_id, uint32_t tx_id, uint32_t len) {
  MsgHeader h{type, req_id, tx_id, len};
  return std::string(reinterpret_cast<const char*>(&h), sizeof(h));
}

TEST(XsWire, HeaderMatchesXsdSockmsg) {
  EXPECT_EQ(kHeaderSize, 16u);
  std::string m = encode_message(MsgType::kRead, 5, 9, "abc");
  ASSERT_EQ(m.size(), 19u);
  xsd_sockmsg h;
  std::memcpy(&h, m.data(), sizeof(h));
  EXPECT_EQ(h.type, uint32_t{XS_READ});
  EXPECT_EQ(h.req_id, 5u);
  EXPECT_EQ(h.tx_id, 9u);
  EXPECT_EQ(h.len, 3u);
  EXPECT_EQ(m.substr(16), "abc");
}

TEST(XsWire, ErrorNamesAreXsWiresTable) {
  EXPECT_EQ(error_name(Errno::kNoEnt), "ENOENT");
  EXPECT_EQ(error_name(Errno::kAcces), "EACCES");
  EXPECT_EQ(error_name(Errno::kAgain), "EAGAIN");
  EXPECT_EQ(error_name(Errno::kTooBig), "E2BIG");
  EXPECT_EQ(error_name(Errno::kExist), "EEXIST");
  EXPECT_EQ(error_name(Errno::kBusy), "EBUSY");
  EXPECT_EQ(error_name(Errno::kNoSys), "ENOSYS");
  EXPECT_EQ(error_name(Errno::kPerm), "EPERM");
  EXPECT_EQ(error_name(kErrIsDir), "EISDIR");
  EXPECT_EQ(error_name(kErrRoFs), "EROFS");
  EXPECT_EQ(error_name(kErrQuota), "EQUOTA");
  EXPECT_EQ(error_name(Errno::kTimedOut), "EINVAL") << "unnamed errors read as EINVAL";
  for (const auto& e : xsd_errors) {
    auto back = error_from_name(e.errstring);
    ASSERT_TRUE(back.has_value()) << e.errstring;
    EXPECT_EQ(to_int(*back), e.errnum);
    EXPECT_EQ(error_name(*back), e.errstring);
  }
  EXPECT_EQ(error_from_name("EQUOTA"), kErrQuota);
  EXPECT_FALSE(error_from_name("ENOPE").has_value());
  std::string err = encode_error(Errno::kNoEnt, 3, 4);
  EXPECT_EQ(err.substr(16), std::string("ENOENT\0", 7));
}

TEST(XsWire, WatchEventPayload) {
  std::string m = encode_watch_event("/a/b", "tok");
  EXPECT_EQ(m.substr(16), std::string("/a/b\0tok\0", 9));
  MsgHeader h;
  std::memcpy(&h, m.data(), sizeof(h));
  EXPECT_EQ(h.type, uint32_t{XS_WATCH_EVENT});
  EXPECT_EQ(h.req_id, 0u);
}

TEST(XsWire, SplitStringsAndOneArg) {
  SplitStrings s = split_strings(std::string("a\0bc\0tail", 9));
  ASSERT_EQ(s.strings.size(), 2u);
  EXPECT_EQ(s.strings[0], "a");
  EXPECT_EQ(s.strings[1], "bc");
  EXPECT_EQ(s.trailing, 4u);
  EXPECT_EQ(split_strings("").strings.size(), 0u);
  EXPECT_EQ(one_arg(std::string("/a\0", 3)), "/a");
  EXPECT_FALSE(one_arg("/a").has_value()) << "missing NUL";
  EXPECT_FALSE(one_arg(std::string("/a\0b\0", 5)).has_value()) << "two strings";
  EXPECT_FALSE(one_arg("").has_value());
}

TEST(XsWireAssembler, ByteByByte) {
  std::string m = encode_message(MsgType::kRead, 1, 0, std::string("/x\0", 3));
  MessageAssembler a;
  for (size_t i = 0; i < m.size(); ++i) {
    ASSERT_FALSE(a.ready()) << i;
    EXPECT_EQ(a.feed(&m[i], 1), 1u);
  }
  ASSERT_TRUE(a.ready());
  Message got = a.take();
  EXPECT_EQ(got.type(), MsgType::kRead);
  EXPECT_EQ(got.payload, std::string("/x\0", 3));
  EXPECT_EQ(a.state(), MessageAssembler::State::kHeader);
}

TEST(XsWireAssembler, TruncatedHeaderWaitsForTheRest) {
  std::string m = header_bytes(XS_READ, 1, 0, 0);
  MessageAssembler a;
  EXPECT_EQ(a.feed(m.data(), 10), 10u);
  EXPECT_FALSE(a.ready());
  EXPECT_EQ(a.want(), 6u);
  EXPECT_EQ(a.feed(m.data() + 10, 6), 6u);
  EXPECT_TRUE(a.ready()) << "a zero-length payload completes with the header";
}

TEST(XsWireAssembler, NeverTakesBytesOfTheNextMessage) {
  std::string two = encode_message(MsgType::kRead, 1, 0, "ab") + encode_message(MsgType::kRm, 2, 0, "c");
  MessageAssembler a;
  size_t used = 0;
  while (!a.ready() && used < two.size()) used += a.feed(two.data() + used, two.size() - used);
  EXPECT_EQ(used, 18u) << "header and payload of the first message only";
  ASSERT_TRUE(a.ready());
  EXPECT_EQ(a.take().payload, "ab");
  EXPECT_EQ(a.feed(two.data() + used, two.size() - used), 16u);
  EXPECT_EQ(a.feed(two.data() + used + 16, two.size() - used - 16), 1u);
  ASSERT_TRUE(a.ready());
  EXPECT_EQ(a.take().header.req_id, 2u);
}

TEST(XsWireAssembler, OversizeLengthBreaksTheStream) {
  MessageAssembler a;
  std::string h = header_bytes(XS_WRITE, 1, 0, kPayloadMax + 1);
  a.feed(h.data(), h.size());
  EXPECT_TRUE(a.broken());
  EXPECT_EQ(a.want(), 0u);
  EXPECT_EQ(a.feed("x", 1), 0u) << "a broken stream takes nothing more";
  MessageAssembler b;
  std::string max = header_bytes(XS_WRITE, 1, 0, kPayloadMax);
  b.feed(max.data(), max.size());
  EXPECT_FALSE(b.broken()) << "exactly XENSTORE_PAYLOAD_MAX is allowed";
  EXPECT_EQ(b.want(), kPayloadMax);
  MessageAssembler c;
  std::string huge = header_bytes(XS_WRITE, 1, 0, 0xFFFFFFFFu);
  c.feed(huge.data(), huge.size());
  EXPECT_TRUE(c.broken());
}

class XsRequests : public ::testing::Test {
 protected:
  XsOptions options;
  Core core{options};
  Client dom0{core, DomId(0)};
};

TEST_F(XsRequests, UnknownTypesAreEnosys) {
  for (uint32_t type : {uint32_t{XS_TYPE_COUNT}, uint32_t{XS_WATCH_EVENT}, uint32_t{XS_ERROR},
                        uint32_t{XS_SET_TARGET + 1}, 999u, 0xFFFFu, 0xFFFFFFFFu}) {
    EXPECT_EQ(dom0.raw(type, std::string("/a\0", 3)), "E:ENOSYS") << type;
  }
  EXPECT_EQ(dom0.write("/still", "works"), kOK);
}

TEST_F(XsRequests, MissingOrExtraNulsAreEinval) {
  EXPECT_EQ(dom0.raw(XS_READ, "/tool"), "E:EINVAL") << "no NUL";
  EXPECT_EQ(dom0.raw(XS_READ, ""), "E:EINVAL") << "empty payload";
  EXPECT_EQ(dom0.raw(XS_READ, std::string("/tool\0/x\0", 9)), "E:EINVAL") << "two strings";
  EXPECT_EQ(dom0.raw(XS_READ, std::string("/to\0ol", 6)), "E:EINVAL") << "NUL inside";
  EXPECT_EQ(dom0.raw(XS_WRITE, "/a"), "E:EINVAL") << "write without path terminator";
  EXPECT_EQ(dom0.raw(XS_WATCH, std::string("/a\0tok", 6)), "E:EINVAL") << "token not terminated";
  EXPECT_EQ(dom0.raw(XS_WATCH, std::string("/a\0", 3)), "E:EINVAL") << "no token";
  EXPECT_EQ(dom0.raw(XS_SET_PERMS, std::string("/tool\0", 6)), "E:EINVAL") << "no permissions";
  EXPECT_EQ(dom0.raw(XS_SET_PERMS, std::string("/tool\0n0", 8)), "E:EINVAL");
  EXPECT_EQ(dom0.raw(XS_TRANSACTION_END, "T"), "E:EINVAL");
  EXPECT_EQ(dom0.raw(XS_GET_DOMAIN_PATH, "3"), "E:EINVAL");
  EXPECT_EQ(dom0.raw(XS_DIRECTORY_PART, std::string("/\0", 2)), "E:EINVAL");
  EXPECT_TRUE(core.store().consistent());
}

TEST_F(XsRequests, WriteValueIsBinaryAndMayBeEmpty) {
  std::string value("a\0b\xff", 4);
  EXPECT_EQ(dom0.write("/bin", value), kOK);
  EXPECT_EQ(dom0.read("/bin"), value);
  EXPECT_EQ(dom0.write("/empty", ""), kOK);
  EXPECT_EQ(dom0.read("/empty"), "");
}

TEST_F(XsRequests, BadPathsAreEinval) {
  for (std::string_view bad : {"//a", "/a/", "/a//b", "/a b", "/a/../b", "/a.b", "/\xc3\xa9",
                               "@introduceDomain", "@other"}) {
    EXPECT_EQ(dom0.write(bad, "x"), "E:EINVAL") << bad;
    EXPECT_EQ(dom0.read(bad), "E:EINVAL") << bad;
  }
  std::string too_long = "/" + std::string(kAbsPathMax, 'a');
  EXPECT_EQ(dom0.write(too_long, "x"), "E:EINVAL");
  std::string longest = "/" + std::string(kAbsPathMax - 1, 'a');
  EXPECT_EQ(dom0.write(longest, "x"), kOK) << "XENSTORE_ABS_PATH_MAX itself is fine";
  std::string rel_too_long(kRelPathMax + 1, 'a');
  EXPECT_EQ(dom0.write(rel_too_long, "x"), "E:EINVAL");
  EXPECT_EQ(dom0.write("/", "root value"), kOK) << "the root is a node like any other";
  EXPECT_EQ(dom0.rm("/"), "E:EINVAL") << "but cannot be removed";
}

TEST_F(XsRequests, RelativePathsResolveAgainstTheCallersHome) {
  Client guest(core, DomId(5));
  EXPECT_EQ(dom0.mkdir("/local/domain/5"), kOK);
  EXPECT_EQ(dom0.set_perms("/local/domain/5", {"n5"}), kOK);
  EXPECT_EQ(guest.write("data/x", "1"), kOK);
  EXPECT_EQ(dom0.read("/local/domain/5/data/x"), "1");
  EXPECT_EQ(dom0.write("mine", "0"), kOK);
  EXPECT_EQ(dom0.read("/local/domain/0/mine"), "0");
  EXPECT_EQ(dom0.call(MsgType::kGetDomainPath, {"5"}), std::string("/local/domain/5\0", 16));
  EXPECT_EQ(guest.call(MsgType::kGetDomainPath, {"65535"}), std::string("/local/domain/65535\0", 20));
  EXPECT_EQ(guest.call(MsgType::kGetDomainPath, {"65536"}), "E:EINVAL");
  EXPECT_EQ(guest.call(MsgType::kGetDomainPath, {"-1"}), "E:EINVAL");
}

TEST_F(XsRequests, RepliesEchoRequestAndTransactionIds) {
  uint32_t tx = dom0.start();
  ASSERT_NE(tx, 0u);
  Message msg{MsgHeader{XS_READ, 0xABCD, tx, 6}, std::string("/tool\0", 6)};
  core.handle(dom0.conn, msg);
  core.flush();
  ASSERT_EQ(dom0.conn.received.size(), 1u);
  EXPECT_EQ(dom0.conn.received[0].header.req_id, 0xABCDu);
  EXPECT_EQ(dom0.conn.received[0].header.tx_id, tx);
  dom0.conn.received.clear();
  EXPECT_EQ(dom0.read("/tool", 0x7777), "E:ENOENT") << "an unknown transaction";
}

TEST_F(XsRequests, DirectoryListsChildren) {
  EXPECT_EQ(dom0.write("/d/b", ""), kOK);
  EXPECT_EQ(dom0.write("/d/a", ""), kOK);
  EXPECT_EQ(dom0.dir("/d"), list({"a", "b"}));
  EXPECT_EQ(dom0.dir("/d/a"), "") << "no children: an empty payload";
  EXPECT_EQ(dom0.dir("/nope"), "E:ENOENT");
}

TEST_F(XsRequests, OversizeDirectoryIsE2bigAndComesInParts) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.push_back("child-with-a-long-name-" + std::to_string(1000 + i));
    ASSERT_EQ(dom0.write("/big/" + names.back(), ""), kOK);
  }
  EXPECT_EQ(dom0.dir("/big"), "E:E2BIG");
  // libxenstore's loop: "path\0offset\0" until the listing ends in two NULs.
  std::string all;
  std::string generation;
  for (size_t offset = 0;;) {
    std::string r = dom0.call(MsgType::kDirectoryPart, {"/big", std::to_string(offset)});
    ASSERT_NE(r.rfind("E:", 0), 0u) << r;
    ASSERT_LE(r.size(), kPayloadMax);
    std::string gen = r.substr(0, r.find('\0'));
    if (offset == 0) generation = gen;
    EXPECT_EQ(gen, generation);
    std::string part = r.substr(gen.size() + 1);
    all += part;
    offset += part.size();
    if (part.size() <= 1 || part[part.size() - 2] == '\0') break;
  }
  all.pop_back();
  std::sort(names.begin(), names.end());
  std::string expected;
  for (const std::string& n : names) expected.append(n).push_back('\0');
  EXPECT_EQ(all, expected);
  EXPECT_EQ(dom0.call(MsgType::kDirectoryPart, {"/big", "x"}), "E:EINVAL");
}

TEST_F(XsRequests, GuestsCannotUsePrivilegedRequests) {
  Client guest(core, DomId(3));
  EXPECT_EQ(guest.call(MsgType::kIntroduce, {"4", "1", "1"}), "E:EACCES");
  EXPECT_EQ(guest.call(MsgType::kRelease, {"4"}), "E:EACCES");
  EXPECT_EQ(guest.call(MsgType::kIsDomainIntroduced, {"4"}), "E:EACCES");
  EXPECT_EQ(guest.call(MsgType::kResume, {"4"}), "E:EACCES");
  EXPECT_EQ(guest.call(MsgType::kControl, {"print", "x"}), "E:EACCES");
  EXPECT_EQ(dom0.call(MsgType::kSetTarget, {"4", "5"}), "E:ENOSYS");
  EXPECT_EQ(dom0.call(MsgType::kIsDomainIntroduced, {"0"}), std::string("T\0", 2));
}

TEST_F(XsRequests, GarbageStreamNeverBreaksTheStore) {
  // Deterministic pseudo-random requests of every type: replies, never a crash.
  uint32_t x = 12345;
  auto next = [&] { return x = x * 1103515245 + 12345; };
  Client guest(core, DomId(9));
  for (int i = 0; i < 3000; ++i) {
    uint32_t type = next() % (XS_TYPE_COUNT + 2);
    std::string payload;
    size_t len = next() % 24;
    const char alphabet[] = "/ab\0@TF0123n5r";
    for (size_t j = 0; j < len; ++j) payload.push_back(alphabet[next() % (sizeof(alphabet) - 1)]);
    Client& who = (i % 2) ? guest : dom0;
    std::string r = who.raw(type, payload, next() % 3 == 0 ? next() % 4 : 0);
    EXPECT_FALSE(r.empty() && type != XS_DIRECTORY && type != XS_READ) << type;
  }
  EXPECT_TRUE(core.store().consistent());
}

}  // namespace
}  // namespace atl::hv::xs::test
