// Request heads: the request line, fields, limits, and the byte-at-a-time arrival
// a slow client produces.
#include <gtest/gtest.h>

#include <string>

#include "http_parser.h"

namespace atl::httpd {
namespace {

ParseResult parse(const std::string& text, Request& req, const ParseLimits& limits = {}) {
  return parse_request(text, req, limits);
}

TEST(HttpParser, ParsesASimpleGet) {
  Request req;
  std::string text = "GET /index.html?x=1 HTTP/1.1\r\nHost: example\r\nAccept:  */* \r\n\r\n";
  ParseResult r = parse(text, req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(r.consumed, text.size());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target, "/index.html?x=1");
  EXPECT_EQ(req.version_major, 1u);
  EXPECT_EQ(req.version_minor, 1u);
  ASSERT_NE(req.field("accept"), nullptr);
  EXPECT_EQ(*req.field("ACCEPT"), "*/*");
  EXPECT_EQ(*req.field("host"), "example");
  EXPECT_EQ(req.field("range"), nullptr);
  EXPECT_TRUE(req.keep_alive());
}

TEST(HttpParser, ConsumesOnlyTheFirstOfPipelinedRequests) {
  Request req;
  std::string first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string text = first + "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n";
  ParseResult r = parse(text, req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(r.consumed, first.size());
  r = parse(text.substr(r.consumed), req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(req.method, "HEAD");
  EXPECT_EQ(req.target, "/b");
}

TEST(HttpParser, IsIncompleteAtEveryPrefix) {
  std::string text = "GET /slow HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\r\n";
  Request req;
  for (size_t n = 0; n < text.size(); ++n)
    EXPECT_EQ(parse(text.substr(0, n), req).state, ParseState::Incomplete) << "prefix " << n;
  EXPECT_EQ(parse(text, req).state, ParseState::Complete);
}

TEST(HttpParser, AcceptsBareLineFeedsAndLeadingBlankLines) {
  Request req;
  ParseResult r = parse("\r\n\nGET / HTTP/1.0\n\n", req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(req.version_minor, 0u);
  EXPECT_FALSE(req.keep_alive());
}

TEST(HttpParser, RejectsMalformedRequestLines) {
  for (const char* bad : {"GET\r\n\r\n", "GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n",
                          "GET / HTTX/1.1\r\n\r\n", "GET / HTTP/1.x\r\n\r\n", "GET / HTTP/11\r\n\r\n",
                          "G(T / HTTP/1.1\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n", "\x16\x03\x01\x02\x05"}) {
    Request req;
    ParseResult r = parse(bad, req);
    EXPECT_EQ(r.state, ParseState::Failed) << bad;
    EXPECT_EQ(r.error, Status::BadRequest) << bad;
  }
}

TEST(HttpParser, JudgesTheRequestLineBeforeTheFieldsArrive) {
  Request req;
  ParseResult r = parse("BAD LINE\r\nHost: partial", req);
  EXPECT_EQ(r.state, ParseState::Failed);
  EXPECT_EQ(r.error, Status::BadRequest);
}

TEST(HttpParser, RejectsANonHttpStreamBeforeAnyLineEnds) {
  // A TLS ClientHello to a plain-HTTP port never sends a line feed; do not wait
  // for the header timeout to say no.
  Request req;
  ParseResult r = parse("\x16\x03\x01\x02\x00\x01", req);
  EXPECT_EQ(r.state, ParseState::Failed);
  EXPECT_EQ(parse("GE", req).state, ParseState::Incomplete);
  EXPECT_EQ(parse("GET /partial", req).state, ParseState::Incomplete);
}

TEST(HttpParser, AnswersOtherMajorVersionsWith505) {
  Request req;
  ParseResult r = parse("GET / HTTP/2.0\r\n\r\n", req);
  EXPECT_EQ(r.state, ParseState::Failed);
  EXPECT_EQ(r.error, Status::VersionNotSupported);
  // A higher minor version is HTTP/1.1-compatible.
  EXPECT_EQ(parse("GET / HTTP/1.9\r\nHost: h\r\n\r\n", req).state, ParseState::Complete);
}

TEST(HttpParser, RequiresExactlyOneHostOnHttp11) {
  Request req;
  EXPECT_EQ(parse("GET / HTTP/1.1\r\n\r\n", req).state, ParseState::Failed);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", req).state, ParseState::Failed);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n", req).state, ParseState::Complete);
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", req).state, ParseState::Complete);
}

TEST(HttpParser, RejectsMalformedFields) {
  for (const char* bad : {"GET / HTTP/1.1\r\nHost: h\r\nNo colon\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: h\r\nSpace : x\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"}) {
    Request req;
    ParseResult r = parse(bad, req);
    EXPECT_EQ(r.state, ParseState::Failed) << bad;
    EXPECT_EQ(r.error, Status::BadRequest) << bad;
  }
}

TEST(HttpParser, ReadsContentLengthAndTransferEncoding) {
  Request req;
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n", req).state, ParseState::Complete);
  EXPECT_EQ(req.content_length, 12u);
  EXPECT_FALSE(req.has_transfer_encoding);
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", req).state,
            ParseState::Complete);
  EXPECT_TRUE(req.has_transfer_encoding);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", req).state, ParseState::Failed);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", req).state,
            ParseState::Failed);
}

TEST(HttpParser, KeepAliveFollowsVersionAndConnectionTokens) {
  Request req;
  parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n", req);
  EXPECT_FALSE(req.keep_alive());
  parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", req);
  EXPECT_TRUE(req.keep_alive());
  parse("GET / HTTP/1.0\r\n\r\n", req);
  EXPECT_FALSE(req.keep_alive());
}

TEST(HttpParser, LongRequestLineIs414EvenBeforeItEnds) {
  Request req;
  ParseLimits limits;
  std::string line = "GET /" + std::string(limits.max_request_line, 'a');
  ParseResult r = parse(line, req, limits);
  EXPECT_EQ(r.state, ParseState::Failed);
  EXPECT_EQ(r.error, Status::UriTooLong);
  r = parse(line + " HTTP/1.1\r\nHost: h\r\n\r\n", req, limits);
  EXPECT_EQ(r.error, Status::UriTooLong);
  // Exactly at the limit is fine.
  std::string ok = "GET /" + std::string(limits.max_request_line - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(ok.size(), limits.max_request_line);
  EXPECT_EQ(parse(ok + "\r\nHost: h\r\n\r\n", req, limits).state, ParseState::Complete);
}

TEST(HttpParser, LargeFieldBlockIs413) {
  Request req;
  ParseLimits limits;
  std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  std::string fields;
  while (fields.size() <= limits.max_header_fields) fields += "X-Filler: " + std::string(100, 'z') + "\r\n";
  ParseResult r = parse(head + fields, req, limits);  // still unterminated
  EXPECT_EQ(r.state, ParseState::Failed);
  EXPECT_EQ(r.error, Status::ContentTooLarge);
  r = parse(head + fields + "\r\n", req, limits);
  EXPECT_EQ(r.error, Status::ContentTooLarge);
}

}  // namespace
}  // namespace atl::httpd
