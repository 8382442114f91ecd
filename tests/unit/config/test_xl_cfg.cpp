// The xl.cfg grammar (hypervisor/config/xl_cfg.h): values, lists over lines,
// comments, separators, escapes, += and the merge of file and command line,
// and every syntax error with its line and key.
#include <gtest/gtest.h>

#include "xl_cfg.h"

using namespace atl::hv::cfg;

namespace {

std::vector<Setting> parse_ok(std::string_view text) {
  auto p = parse_file(text, "vm.cfg");
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
  return p.ok() ? p.value() : std::vector<Setting>{};
}

std::string parse_error(std::string_view text) {
  auto p = parse_file(text, "vm.cfg");
  return p.ok() ? "(no error)" : p.error().to_string();
}

}  // namespace

TEST(XlCfg, ReadsNumbersStringsAndLists) {
  auto s = parse_ok("name = \"web\"\nmemory = 32\nvif = [ 'user', \"switch=lan\" ]\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].key, "name");
  EXPECT_EQ(s[0].value.kind, Value::Kind::kString);
  EXPECT_EQ(s[0].value.text, "web");
  EXPECT_EQ(s[1].value.kind, Value::Kind::kNumber);
  EXPECT_EQ(s[1].value.text, "32");
  EXPECT_EQ(s[1].origin.line, 2u);
  ASSERT_EQ(s[2].value.kind, Value::Kind::kList);
  ASSERT_EQ(s[2].value.items.size(), 2u);
  EXPECT_EQ(s[2].value.items[1].text, "switch=lan");
}

TEST(XlCfg, ListsSpanLinesWithCommentsAndTrailingCommas) {
  auto s = parse_ok("disk = [\n  'a.img',   # the root\n\n  'b.img',\n]\nmemory=8");
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(s[0].value.items.size(), 2u);
  EXPECT_EQ(s[0].value.items[0].origin.line, 2u);
  EXPECT_EQ(s[0].value.items[1].origin.line, 4u);
  EXPECT_EQ(s[1].origin.line, 6u);
  EXPECT_TRUE(parse_ok("vif = []\n")[0].value.items.empty());
  EXPECT_TRUE(parse_ok("vif = [\n]\n")[0].value.items.empty());
  EXPECT_EQ(parse_ok("x = [ [ '1' ], '2' ]")[0].value.items[0].kind, Value::Kind::kList);
}

TEST(XlCfg, SemicolonsCommentsBlankLinesAndCrlf) {
  auto s = parse_ok("# a domain\n\nname='a'; memory=8;\r\nvcpus = 1 # one\n;;\n# the end");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2].key, "vcpus");
  EXPECT_EQ(s[2].origin.line, 4u);
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("\n\n# only a comment").empty());
}

TEST(XlCfg, Escapes) {
  auto s = parse_ok(R"(a = 'it\'s' ; b = "say \"hi\"\t\\" ; c = '\x41\n' ; d = "'" ; e = '"')");
  EXPECT_EQ(s[0].value.text, "it's");
  EXPECT_EQ(s[1].value.text, "say \"hi\"\t\\");
  EXPECT_EQ(s[2].value.text, "A\n");
  EXPECT_EQ(s[3].value.text, "'");
  EXPECT_EQ(s[4].value.text, "\"");
}

TEST(XlCfg, SyntaxErrorsNameTheLineAndKey) {
  EXPECT_EQ(parse_error("name = 'a'\nmemory = lots\n"),
            "vm.cfg:2: memory: a value is a number, a 'string' or a [ list ], not the bare word `lots` (quote it)");
  EXPECT_EQ(parse_error("memory 16"), "vm.cfg:1: memory: expected `=` after the key, found the number 16");
  EXPECT_EQ(parse_error("memory =\n16"), "vm.cfg:1: memory: expected a value, found the end of the line");
  EXPECT_EQ(parse_error("name = 'a' 'b'"), "vm.cfg:1: name: expected the end of the line after the value, found a string");
  EXPECT_EQ(parse_error("\n\nname = 'web"), "vm.cfg:3: name: a string runs to the end of its line; the closing ' is missing");
  EXPECT_EQ(parse_error("vif = [ 'a' 'b' ]"), "vm.cfg:1: vif: expected `,` or `]` in a list, found a string");
  EXPECT_EQ(parse_error("vif = [ 'a',\n , ]"), "vm.cfg:2: vif: expected a value, found `,`");
  EXPECT_EQ(parse_error("vif = [ 'a'"), "vm.cfg:1: vif: expected `,` or `]` in a list, found the end of the input");
  EXPECT_EQ(parse_error("= 5"), "vm.cfg:1: expected KEY = VALUE, found `=`");
  EXPECT_EQ(parse_error("16 = 5"), "vm.cfg:1: expected KEY = VALUE, found the number 16");
  EXPECT_EQ(parse_error("memory = 1.5"),
            "vm.cfg:1: memory: unexpected `.` (a value is a number, a 'string' or a [ list ])");
  EXPECT_EQ(parse_error("memory = -1"), "vm.cfg:1: memory: unexpected `-` (a value is a number, a 'string' or a [ list ])");
  EXPECT_EQ(parse_error("a = 'x\\101'"), "vm.cfg:1: a: octal escapes (\\1..) are not taken; write \\xHH");
  EXPECT_EQ(parse_error("a = 'x\\q'"), "vm.cfg:1: a: unknown escape \\q in a string");
  EXPECT_EQ(parse_error("a = '\\x4'"), "vm.cfg:1: a: \\x takes two hex digits");
  EXPECT_EQ(parse_error("a = '\\x00'"), "vm.cfg:1: a: a string holds a NUL byte (\\x00)");
  EXPECT_EQ(parse_error(std::string_view("a = 'x\0'", 8)), "vm.cfg:1: a: a string holds a NUL byte");
  EXPECT_EQ(parse_error("a = 'x\\"), "vm.cfg:1: a: a string ends in a lone backslash");
  EXPECT_EQ(parse_error("a = \x01"), "vm.cfg:1: a: unexpected byte 0x01 (a value is a number, a 'string' or a [ list ])");
  EXPECT_TRUE(parse_file("x = [[[[[[[[ ]]]]]]]]", "vm.cfg").ok());
  EXPECT_EQ(parse_error("x = [[[[[[[[[ ]]]]]]]]]"), "vm.cfg:1: x: lists nest deeper than 8");
}

TEST(XlCfg, Overrides) {
  auto s = parse_override("memory=32");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value().key, "memory");
  EXPECT_EQ(s.value().value.kind, Value::Kind::kNumber);
  EXPECT_EQ(s.value().origin.source, "command line");
  EXPECT_EQ(s.value().origin.line, 0u);
  EXPECT_EQ(parse_override("name=my web").value().value.text, "my web");
  EXPECT_EQ(parse_override("name = 'a b'").value().value.text, "a b");
  EXPECT_EQ(parse_override("cmdline=").value().value.text, "");
  auto list = parse_override("vif+=[ 'user',\n 'switch=lan' ]");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list.value().append);
  EXPECT_EQ(list.value().value.items.size(), 2u);
  EXPECT_EQ(parse_override("memory").error().to_string(), "command line: `memory` is not KEY=VALUE");
  EXPECT_EQ(parse_override("=5").error().to_string(), "command line: `=5` is not KEY=VALUE");
  EXPECT_EQ(parse_override("name='a").error().to_string(),
            "command line: name: a string runs to the end of its line; the closing ' is missing");
  EXPECT_EQ(parse_override("vif=['a'] x").error().to_string(),
            "command line: vif: expected the end of the value, found `x`");
}

TEST(XlCfg, TableRefusesTwiceAndAppends) {
  SettingTable t;
  auto file = parse_ok("memory = 16\nvif = [ 'user' ]\nvif += [ 'switch=lan' ]\nname = 'a'\nname += 'b'\n");
  for (auto& s : file) ASSERT_FALSE(t.add(s, false));
  ASSERT_EQ(t.settings().size(), 3u);
  EXPECT_EQ(t.settings()[1].value.items.size(), 2u);
  EXPECT_EQ(t.settings()[2].value.text, "ab");
  auto again = parse_ok("\n\nmemory = 32")[0];
  EXPECT_EQ(t.add(again, false)->to_string(), "vm.cfg:3: memory: set twice (first on line 1; += adds to a list)");
  // The command line replaces, once.
  EXPECT_FALSE(t.add(parse_override("memory=64").value(), true));
  EXPECT_EQ(t.settings()[0].value.text, "64");
  EXPECT_EQ(t.add(parse_override("memory=65").value(), true)->to_string(), "command line: memory: given twice on the command line");
  EXPECT_FALSE(t.add(parse_override("vif+=['tap=t0']").value(), true));
  EXPECT_EQ(t.settings()[1].value.items.size(), 3u);
  EXPECT_EQ(t.settings()[1].value.items[0].origin.line, 2u);
  EXPECT_EQ(t.settings()[1].value.items[2].origin.line, 0u);
  EXPECT_EQ(t.add(parse_override("vif=[]").value(), true)->to_string(), "command line: vif: given twice on the command line");
  EXPECT_EQ(t.add(parse_override("vif+=user").value(), true)->to_string(),
            "command line: vif: += adds a list to a list or a string to a string, not one to the other");
}

TEST(XlCfg, FormatReadsBack) {
  Value v;
  v.kind = Value::Kind::kList;
  Value a;
  a.text = "it's a \\ \n\t\x01 test";
  v.items = {a, a};
  std::string text = "k = " + format_value(v);
  auto back = parse_ok(text);
  ASSERT_EQ(back.size(), 1u);
  ASSERT_EQ(back[0].value.items.size(), 2u);
  EXPECT_EQ(back[0].value.items[1].text, a.text);
  EXPECT_EQ(quote_string("a'b"), "'a\\'b'");
}
