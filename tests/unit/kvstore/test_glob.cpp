// Redis glob patterns, as KEYS and CONFIG GET use them (stringmatchlen).
#include <gtest/gtest.h>

#include "glob.h"

namespace kv {
namespace {

TEST(Glob, Literals) {
  EXPECT_TRUE(glob_match("hello", "hello"));
  EXPECT_FALSE(glob_match("hello", "hell"));
  EXPECT_FALSE(glob_match("hell", "hello"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(Glob, Star) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("h*llo", "hllo"));
  EXPECT_TRUE(glob_match("h*llo", "heeeello"));
  EXPECT_TRUE(glob_match("user:*:name", "user:42:name"));
  EXPECT_FALSE(glob_match("user:*:name", "user:42:age"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZZc"));
  EXPECT_TRUE(glob_match("**a**", "bab"));
  EXPECT_FALSE(glob_match("a*a", "a"));
  EXPECT_TRUE(glob_match("*ab", "aab"));  // the star must retry after a partial match
}

TEST(Glob, QuestionMark) {
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_TRUE(glob_match("h?llo", "hallo"));
  EXPECT_FALSE(glob_match("h?llo", "hllo"));
  EXPECT_TRUE(glob_match("???", "abc"));
}

TEST(Glob, Classes) {
  EXPECT_TRUE(glob_match("h[ae]llo", "hello"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-b]llo", "hbllo"));
  EXPECT_FALSE(glob_match("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(glob_match("[z-a]", "m"));  // reversed ranges work, as in Redis
  EXPECT_TRUE(glob_match("[\\]]", "]"));
  EXPECT_TRUE(glob_match("[a\\-z]", "-"));
  EXPECT_FALSE(glob_match("[a\\-z]", "b"));
  EXPECT_FALSE(glob_match("[]", "a"));
  EXPECT_TRUE(glob_match("[abc", "b"));  // an unclosed class runs to the end
}

TEST(Glob, Escapes) {
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("a\\?", "a?"));
  EXPECT_TRUE(glob_match("\\[x]", "[x]"));
  EXPECT_TRUE(glob_match("a\\", "a\\"));  // a trailing backslash is literal
}

TEST(Glob, CaseInsensitive) {
  EXPECT_TRUE(glob_match("APPEND*", "appendonly", GlobCase::kInsensitive));
  EXPECT_FALSE(glob_match("APPEND*", "appendonly"));
  EXPECT_TRUE(glob_match("[A-C]x", "bX", GlobCase::kInsensitive));
}

TEST(Glob, PathologicalPatternIsFast) {
  std::string text(5000, 'a');
  EXPECT_FALSE(glob_match("a*a*a*a*a*a*a*a*a*a*a*b", text));
}

}  // namespace
}  // namespace kv
