// Replies for requests against a small document root in a temporary directory.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "handler.h"
#include "http_date.h"

namespace atl::httpd {
namespace {

constexpr time_t k_mtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr time_t k_now = 1'700'000'000;

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/httpd-handler-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_root = tmpl;
    write_file("/hello.txt", "hello, world\n");
    write_file("/big.bin", std::string(200 * 1024, 'b') + "END");
    write_file("/huge.bin", std::string(k_cached_file_max, 'h') + "END");
    ASSERT_EQ(mkdir((m_root + "/site").c_str(), 0755), 0);
    write_file("/site/index.html", "<p>site</p>");
    ASSERT_EQ(mkdir((m_root + "/list").c_str(), 0755), 0);
    write_file("/list/a <b>.txt", "x");
    ASSERT_EQ(mkdir((m_root + "/list/sub").c_str(), 0755), 0);
  }
  void TearDown() override { ASSERT_EQ(system(("rm -rf '" + m_root + "'").c_str()), 0); }

  void write_file(const std::string& rel, const std::string& data) {
    std::string path = m_root + rel;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    timespec times[2] = {{k_mtime, 0}, {k_mtime, 0}};
    ASSERT_EQ(futimens(fd, times), 0);
    ::close(fd);
  }

  Reply get(const std::string& target, const std::string& extra = "", const char* method = "GET",
            unsigned minor = 1) {
    std::string text = std::string(method) + " " + target + " HTTP/1." + std::to_string(minor) + "\r\nHost: test\r\n";
    for (size_t pos = 0; pos < extra.size();) {
      size_t nl = extra.find('\n', pos);
      text += extra.substr(pos, nl - pos) + "\r\n";
      pos = nl == std::string::npos ? extra.size() : nl + 1;
    }
    Request req;
    EXPECT_EQ(parse_request(text + "\r\n", req).state, ParseState::Complete) << text;
    FileSource files(m_root);
    Handler handler(files);
    std::string date = format_http_date(k_now);
    return handler.handle(req, Now{k_now, date});
  }

  static std::string head_of(const Reply& r) { return r.out.substr(0, r.out.find("\r\n\r\n") + 4); }
  // A generated body follows the head in `out`; a cached file's is a range of its contents.
  static std::string body_of(const Reply& r) {
    std::string body = r.out.substr(r.out.find("\r\n\r\n") + 4);
    if (r.cached) body += r.cached->substr(r.file_offset, r.file_length);
    return body;
  }
  static bool has(const Reply& r, const std::string& field) {
    return head_of(r).find("\r\n" + field + "\r\n") != std::string::npos;
  }

  std::string m_root;
};

TEST_F(HandlerTest, ServesASmallFile) {
  Reply r = get("/hello.txt");
  EXPECT_EQ(r.status, Status::Ok);
  EXPECT_TRUE(r.out.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(has(r, "Content-Type: text/plain; charset=utf-8"));
  EXPECT_TRUE(has(r, "Content-Length: 13"));
  EXPECT_TRUE(has(r, "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_TRUE(has(r, "Date: " + format_http_date(k_now)));
  EXPECT_EQ(body_of(r), "hello, world\n");
  EXPECT_FALSE(r.file.valid());
  EXPECT_FALSE(r.close_after);
}

TEST_F(HandlerTest, HeadHasTheSameFieldsAndNoBody) {
  Reply r = get("/hello.txt", "", "HEAD");
  EXPECT_TRUE(has(r, "Content-Length: 13"));
  EXPECT_EQ(body_of(r), "");
  for (const char* path : {"/big.bin", "/huge.bin"}) {
    Reply big = get(path, "", "HEAD");
    EXPECT_FALSE(big.file.valid());
    EXPECT_FALSE(big.cached);
    EXPECT_EQ(big.body_bytes, 0u);
  }
}

TEST_F(HandlerTest, ServesAFileUpToTheCacheLimitFromMemory) {
  Reply r = get("/big.bin");
  EXPECT_TRUE(has(r, "Content-Length: 204803"));
  EXPECT_FALSE(r.file.valid());
  ASSERT_TRUE(r.cached);
  EXPECT_EQ(r.file_offset, 0u);
  EXPECT_EQ(r.file_length, 204803u);
  EXPECT_EQ(r.body_bytes, 204803u);
  EXPECT_EQ(head_of(r), r.out);  // the body is not copied after the head
  EXPECT_EQ(body_of(r), std::string(200 * 1024, 'b') + "END");
}

TEST_F(HandlerTest, StreamsAFileOverTheCacheLimit) {
  Reply r = get("/huge.bin");
  EXPECT_TRUE(has(r, "Content-Length: " + std::to_string(k_cached_file_max + 3)));
  EXPECT_TRUE(r.file.valid());
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(r.file_offset, 0u);
  EXPECT_EQ(r.file_length, k_cached_file_max + 3);
  EXPECT_EQ(body_of(r), "");
}

TEST_F(HandlerTest, IfModifiedSince) {
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT").status, Status::NotModified);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Mon, 07 Nov 1994 00:00:00 GMT").status, Status::NotModified);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Sat, 05 Nov 1994 00:00:00 GMT").status, Status::Ok);
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: garbage").status, Status::Ok);
  // A date after the server's clock is invalid and ignored.
  EXPECT_EQ(get("/hello.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT").status, Status::Ok);
  Reply r = get("/hello.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(body_of(r), "");
  EXPECT_FALSE(has(r, "Content-Length: 13"));
}

TEST_F(HandlerTest, Ranges) {
  Reply r = get("/hello.txt", "Range: bytes=7-11");
  EXPECT_EQ(r.status, Status::PartialContent);
  EXPECT_TRUE(has(r, "Content-Range: bytes 7-11/13"));
  EXPECT_TRUE(has(r, "Content-Length: 5"));
  EXPECT_EQ(body_of(r), "world");

  Reply big = get("/big.bin", "Range: bytes=-3");
  EXPECT_EQ(big.status, Status::PartialContent);
  EXPECT_EQ(big.file_offset, 204800u);
  EXPECT_EQ(big.file_length, 3u);
  EXPECT_EQ(body_of(big), "END");
  Reply huge = get("/huge.bin", "Range: bytes=-3");
  EXPECT_EQ(huge.file_offset, k_cached_file_max);
  EXPECT_EQ(huge.file_length, 3u);

  Reply bad = get("/hello.txt", "Range: bytes=13-");
  EXPECT_EQ(bad.status, Status::RangeNotSatisfiable);
  EXPECT_TRUE(has(bad, "Content-Range: bytes */13"));

  EXPECT_EQ(get("/hello.txt", "Range: bytes=0-1,3-4").status, Status::Ok);
  EXPECT_EQ(get("/hello.txt", "Range: bytes=0-1\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT").status,
            Status::PartialContent);
  EXPECT_EQ(get("/hello.txt", "Range: bytes=0-1\nIf-Range: \"etag\"").status, Status::Ok);
}

TEST_F(HandlerTest, Directories) {
  Reply moved = get("/site");
  EXPECT_EQ(moved.status, Status::MovedPermanently);
  EXPECT_TRUE(has(moved, "Location: /site/"));
  Reply index = get("/site/");
  EXPECT_EQ(index.status, Status::Ok);
  EXPECT_EQ(body_of(index), "<p>site</p>");
  EXPECT_TRUE(has(index, "Content-Type: text/html; charset=utf-8"));

  Reply listing = get("/list/");
  EXPECT_EQ(listing.status, Status::Ok);
  std::string html = body_of(listing);
  EXPECT_NE(html.find("<a href=\"sub/\">sub/</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"a%20%3Cb%3E.txt\">a &lt;b&gt;.txt</a>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"../\">"), std::string::npos);
}

TEST_F(HandlerTest, Errors) {
  EXPECT_EQ(get("/missing").status, Status::NotFound);
  EXPECT_EQ(get("/hello.txt/x").status, Status::NotFound);
  EXPECT_EQ(get("/../etc/passwd").status, Status::BadRequest);
  Reply post = get("/hello.txt", "", "POST");
  EXPECT_EQ(post.status, Status::MethodNotAllowed);
  EXPECT_TRUE(has(post, "Allow: GET, HEAD"));
}

TEST_F(HandlerTest, BodiesWeWillNotReadEndTheConnection) {
  EXPECT_FALSE(get("/hello.txt", "", "POST").close_after);
  EXPECT_FALSE(get("/hello.txt", "Content-Length: 10", "POST").close_after);
  EXPECT_TRUE(get("/hello.txt", "Content-Length: 10\nExpect: 100-continue", "POST").close_after);
  EXPECT_TRUE(get("/hello.txt", "Content-Length: 2000000", "POST").close_after);
}

TEST_F(HandlerTest, ConnectionFields) {
  EXPECT_TRUE(get("/hello.txt", "Connection: close").close_after);
  EXPECT_TRUE(has(get("/hello.txt", "Connection: close"), "Connection: close"));
  EXPECT_TRUE(get("/hello.txt", "", "GET", 0).close_after);
  Reply kept = get("/hello.txt", "Connection: keep-alive", "GET", 0);
  EXPECT_FALSE(kept.close_after);
  EXPECT_TRUE(has(kept, "Connection: keep-alive"));
}

}  // namespace
}  // namespace atl::httpd
