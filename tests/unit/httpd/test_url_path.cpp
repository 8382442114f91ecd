// Request targets to document-root paths: decoding, dot segments, and every way a
// request might try to climb out of the root.
#include <gtest/gtest.h>

#include "url_path.h"

namespace atl::httpd {
namespace {

void expect_path(const char* target, const char* path, bool trailing_slash) {
  auto u = normalize_target(target);
  ASSERT_TRUE(u.has_value()) << target;
  EXPECT_EQ(u->path, path) << target;
  EXPECT_EQ(u->trailing_slash, trailing_slash) << target;
}

TEST(UrlPath, NormalisesOriginForm) {
  expect_path("/", "/", true);
  expect_path("/a/b.html", "/a/b.html", false);
  expect_path("/docs/", "/docs", true);
  expect_path("/docs/.", "/docs", true);
  expect_path("//a///b//", "/a/b", true);
  expect_path("/a/./b/../c", "/a/c", false);
  expect_path("/a/b/..", "/a", true);
  expect_path("/a?x=/../../etc", "/a", false);
  expect_path("/a#frag", "/a", false);
}

TEST(UrlPath, PercentDecodes) {
  expect_path("/with%20space.txt", "/with space.txt", false);
  expect_path("/100%25.txt", "/100%.txt", false);
  expect_path("/a%2Fb", "/a/b", false);
  expect_path("/%E2%9C%93", "/\xE2\x9C\x93", false);
}

TEST(UrlPath, AcceptsAbsoluteForm) {
  expect_path("http://example.com/a/b", "/a/b", false);
  expect_path("HTTP://example.com", "/", true);
  expect_path("http://example.com?q", "/", true);
}

TEST(UrlPath, RefusesToLeaveTheRoot) {
  for (const char* bad : {"/..", "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E%2Fetc",
                          "/a/%2e%2e/%2e%2e/x", "/..%2fetc", "http://h/../x"})
    EXPECT_FALSE(normalize_target(bad).has_value()) << bad;
}

TEST(UrlPath, RejectsMalformedTargets) {
  for (const char* bad : {"", "*", "a/b", "/bad%", "/bad%2", "/bad%zz", "/nul%00byte"})
    EXPECT_FALSE(normalize_target(bad).has_value()) << bad;
}

TEST(UrlPath, EncodesAndEscapes) {
  EXPECT_EQ(percent_encode_path("/a b/100%/é?#"), "/a%20b/100%25/%C3%A9%3F%23");
  EXPECT_EQ(percent_encode_path("/Az09-._~"), "/Az09-._~");
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(percent_decode("%41%62c"), "Abc");
}

}  // namespace
}  // namespace atl::httpd
