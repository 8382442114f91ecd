// `atoll create`'s translation of a DomainSpec into `atoll run` arguments
// (hypervisor/config/run_args.h), and the guest command line's split, which
// must undo quote_arg exactly as the guest's splitter (kernel/boot.cpp) does.
#include <gtest/gtest.h>

#include "run_args.h"

using namespace atl::hv;

namespace {

DomainSpec spec(const std::string& text) {
  SpecSources s;
  s.text = "kernel = '/img/hello'\n" + text;
  s.name = "vm.cfg";
  s.dir = "/cfg";
  s.cwd = "/cwd";
  s.check_file = [](const std::string&) { return std::string(); };
  auto p = read_domain_spec(s);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
  return p.ok() ? p.value() : DomainSpec{};
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + ("[" + s + "]");
  return out;
}

}  // namespace

TEST(RunArgs, SplitUndoesQuoteArg) {
  const std::vector<std::string> args = {"plain", "two words", "", "q\"uote", "back\\slash", "\t", "x y\\\"z"};
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + quote_arg(a);
  EXPECT_EQ(split_guest_args(line), args);
  EXPECT_EQ(split_guest_args("  a\t b  "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(split_guest_args("a\"b c\"d"), (std::vector<std::string>{"ab cd"}));
  EXPECT_EQ(split_guest_args("\"open quote"), (std::vector<std::string>{"open quote"}));
  EXPECT_EQ(split_guest_args("trailing\\"), (std::vector<std::string>{"trailing\\"}));
  EXPECT_TRUE(split_guest_args("").empty());
}

TEST(RunArgs, TheDefaults) {
  auto a = run_args(spec(""));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(joined(a.value()),
            "[--name] [hello] [--memory] [16384K] [--on-poweroff] [destroy] [--on-reboot] [restart] [--on-crash] "
            "[destroy] [--max-restarts] [10] [--busy-poll] [100] [/img/hello] [--]");
}

TEST(RunArgs, EveryKey) {
  auto a = run_args(spec("name = 'w'\nmemory = 8\non_crash = 'preserve'\nmax_restarts = 0\nbusy_poll = 5\ncpu_cap = 30\n"
                         "console_log = 'c.log'\nvif = [ 'bridge=lan', 'user' ]\npublish = [ '80:80' ]\n"
                         "disk = [ 'b.img,,xvdb,ro,direct', 'a.img,queues=2' ]\nargs = [ 'x y', '-v' ]\n"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(joined(a.value()),
            "[--name] [w] [--memory] [8192K] [--on-poweroff] [destroy] [--on-reboot] [restart] [--on-crash] "
            "[preserve] [--max-restarts] [0] [--busy-poll] [5] [--cpu-cap] [30] [--console-log] [/cfg/c.log] [--net] [switch=lan] "
            "[--net] [user] [--publish] [80:80] [--disk] [/cfg/a.img,queues=2] [--disk] [/cfg/b.img,ro,direct,queues=4] "
            "[/img/hello] [--] [x y] [-v]");
  EXPECT_EQ(joined(run_args(spec("vif = []")).value()).find("[--net] [none]") != std::string::npos, true);
  EXPECT_EQ(shell_command({"--name", "it's", "a b", "x=1,y"}), "atoll run --name 'it'\\''s' 'a b' x=1,y");
}

TEST(RunArgs, WhatFlagsCannotSay) {
  EXPECT_EQ(run_args(spec("disk = [ 'a.img,,xvdc' ]")).error().message,
            "disk xvdc: `atoll create` numbers disks from xvda without gaps; give xvda first");
  EXPECT_EQ(run_args(spec("disk = [ 'target=/a,b.img' ]")).error().message,
            "disk /a,b.img: `atoll create` cannot yet serve a disk whose path has a comma");
}
