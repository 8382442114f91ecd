// The RESP request parser (split input, pipelining, inline commands, protocol
// errors with Redis's texts) and the reply builders.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "resp.h"

namespace kv {
namespace {

using Args = std::vector<std::string>;
using namespace std::string_literals;

// Feeds `input` in pieces of `step` bytes (as a connection would, keeping the
// bytes the parser did not take) and collects the commands.
struct Feed {
  std::vector<Args> commands;
  std::string error;
  std::string left;  // unconsumed bytes at the end
};

Feed feed(const std::string& input, size_t step, ParserLimits limits = {}) {
  RequestParser parser(limits);
  Feed f;
  std::string buf;
  for (size_t at = 0; at < input.size() || !buf.empty();) {
    if (at < input.size()) {
      buf += input.substr(at, step);
      at += step;
    }
    for (;;) {
      size_t used = 0;
      auto s = parser.parse(buf, used);
      buf.erase(0, used);
      if (s == RequestParser::Status::kCommand) {
        f.commands.push_back(parser.args());
        continue;
      }
      if (s == RequestParser::Status::kError) {
        f.error = parser.error();
        return f;
      }
      break;
    }
    if (at >= input.size()) break;
  }
  f.left = buf;
  return f;
}

TEST(RespParser, MultibulkWhole) {
  Feed f = feed("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", 1000);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0], (Args{"GET", "key"}));
  EXPECT_EQ(f.left, "");
}

TEST(RespParser, SplitAtEveryByte) {
  const std::string input = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$11\r\nbinary\r\n\0ok\r\n*1\r\n$4\r\nPING\r\n"s;
  for (size_t step = 1; step <= input.size(); ++step) {
    Feed f = feed(input, step);
    ASSERT_EQ(f.commands.size(), 2u) << "step " << step;
    EXPECT_EQ(f.commands[0], (Args{"SET", "hello", "binary\r\n\0ok"s}));
    EXPECT_EQ(f.commands[1], (Args{"PING"}));
    EXPECT_EQ(f.error, "");
  }
}

TEST(RespParser, BinarySafeValue) {
  std::string value("a\0b\r\nc", 6);
  std::string input = "*2\r\n$4\r\nECHO\r\n$6\r\n" + value + "\r\n";
  Feed f = feed(input, 3);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0][1], value);
}

TEST(RespParser, PipelinedMixedWithInline) {
  std::string input;
  for (int i = 0; i < 100; ++i) input += "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
  input += "PING\r\nSET a \"b c\"\n";
  Feed f = feed(input, 7);
  ASSERT_EQ(f.commands.size(), 102u);
  EXPECT_EQ(f.commands[99], (Args{"INCR", "n"}));
  EXPECT_EQ(f.commands[100], (Args{"PING"}));
  EXPECT_EQ(f.commands[101], (Args{"SET", "a", "b c"}));
}

TEST(RespParser, EmptyMultibulkAndEmptyLinesAreSkipped) {
  Feed f = feed("*0\r\n*-1\r\n\r\n\n   \r\n*1\r\n$4\r\nPING\r\n", 2);
  ASSERT_EQ(f.commands.size(), 1u);
  EXPECT_EQ(f.commands[0], (Args{"PING"}));
}

TEST(RespParser, IncompleteCommandWaits) {
  Feed f = feed("*2\r\n$3\r\nGET\r\n$3\r\nke", 1000);
  EXPECT_TRUE(f.commands.empty());
  EXPECT_EQ(f.error, "");
}

TEST(RespParser, ProtocolErrors) {
  struct Case {
    std::string input;
    std::string error;
  } cases[] = {
      {"*x\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*2000000\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$99999999999\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\nGET\r\n", "ERR Protocol error: expected '$', got 'G'"},
      {"SET \"unbalanced\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {"SET \"a\"b\r\n", "ERR Protocol error: unbalanced quotes in request"},
      {std::string(70000, 'a'), "ERR Protocol error: too big inline request"},
      {"*" + std::string(70000, '1'), "ERR Protocol error: too big mbulk count string"},
      {"*1\r\n$" + std::string(70000, '1'), "ERR Protocol error: too big bulk count string"},
  };
  for (const auto& c : cases) {
    Feed f = feed(c.input, 4096);
    EXPECT_EQ(f.error, c.error) << c.input.substr(0, 40);
  }
}

TEST(RespParser, CommandsBeforeAnErrorStillParse) {
  Feed f = feed("PING\r\n*1\r\n$4\r\nPING\r\n*1\r\nx\r\n", 1000);
  EXPECT_EQ(f.commands.size(), 2u);
  EXPECT_EQ(f.error, "ERR Protocol error: expected '$', got 'x'");
}

TEST(RespParser, LimitsAreConfigurable) {
  ParserLimits limits;
  limits.max_bulk = 10;
  limits.max_args = 3;
  EXPECT_EQ(feed("*1\r\n$10\r\n0123456789\r\n", 100, limits).commands.size(), 1u);
  EXPECT_EQ(feed("*1\r\n$11\r\n", 100, limits).error, "ERR Protocol error: invalid bulk length");
  EXPECT_EQ(feed("*4\r\n", 100, limits).error, "ERR Protocol error: invalid multibulk length");
}

TEST(RespParser, BulkDataIsConsumedAsItArrives) {
  // A large argument must not sit twice in memory: the caller can drop what
  // the parser took even before the argument is complete.
  RequestParser parser;
  size_t used = 0;
  std::string head = "*2\r\n$4\r\nECHO\r\n$100000\r\n";
  EXPECT_EQ(parser.parse(head + std::string(5000, 'x'), used), RequestParser::Status::kNeedMore);
  EXPECT_EQ(used, head.size() + 5000);
  EXPECT_TRUE(parser.mid_command());
  EXPECT_EQ(parser.parse(std::string(95000, 'x') + "\r\n", used), RequestParser::Status::kCommand);
  EXPECT_EQ(parser.args()[1].size(), 100000u);
  EXPECT_FALSE(parser.mid_command());
}

TEST(InlineSplit, LikeSdssplitargs) {
  Args a;
  ASSERT_TRUE(split_inline_args("  set  key   value ", a));
  EXPECT_EQ(a, (Args{"set", "key", "value"}));
  ASSERT_TRUE(split_inline_args(R"(set "a b" 'c d' "\x41\n\t\"" 'it\'s' "")", a));
  EXPECT_EQ(a, (Args{"set", "a b", "c d", "A\n\t\"", "it's", ""}));
  ASSERT_TRUE(split_inline_args(R"(foo"bar baz")", a));  // a quote mid-token opens a quoted part
  EXPECT_EQ(a, (Args{"foobar baz"}));
  ASSERT_TRUE(split_inline_args(R"("\q\x4")", a));  // unknown escapes keep the character
  EXPECT_EQ(a, (Args{"qx4"}));
  EXPECT_FALSE(split_inline_args(R"("abc)", a));
  EXPECT_FALSE(split_inline_args(R"('abc)", a));
  EXPECT_FALSE(split_inline_args(R"("abc"def)", a));
  ASSERT_TRUE(split_inline_args("", a));
  EXPECT_TRUE(a.empty());
}

TEST(Reply, Builders) {
  std::string out;
  reply::ok(out);
  reply::simple(out, "PONG");
  reply::error(out, "ERR bad\r\nthing");
  reply::integer(out, -42);
  reply::bulk(out, "hi");
  reply::bulk(out, "");
  reply::null(out);
  reply::array(out, 0);
  EXPECT_EQ(out, "+OK\r\n+PONG\r\n-ERR bad  thing\r\n:-42\r\n$2\r\nhi\r\n$0\r\n\r\n$-1\r\n*0\r\n");
}

TEST(Reply, CommandEncodingParsesBack) {
  std::vector<std::string> args{"SET", "k", std::string("v\0\r\n", 4)};
  std::string enc;
  append_command(enc, args);
  EXPECT_EQ(enc, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\0\r\n\r\n"s);
  RequestParser parser;
  size_t used = 0;
  ASSERT_EQ(parser.parse(enc, used), RequestParser::Status::kCommand);
  EXPECT_EQ(used, enc.size());
  EXPECT_EQ(parser.args(), args);
}

}  // namespace
}  // namespace kv
