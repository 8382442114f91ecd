// `atoll run`'s arguments read without side effects (hypervisor/run_spec.h):
// every option, the first bad one reported as a value (not an exit), and the
// image opened and checked only by resolve_run.
#include <gtest/gtest.h>

#include "run_spec.h"

using namespace atl::hv;

namespace {

RunChecked<RunOptions> parse(std::vector<std::string> args) { return parse_run_options(args); }

}  // namespace

TEST(RunSpec, ReadsOptionsImageAndGuestArguments) {
  auto o = parse({"-m", "32M", "--name", "web", "--on-crash", "restart", "--max-restarts", "3", "--disk", "d.img,ro",
                  "--net", "none", "--busy-poll", "0", "img", "a", "--", "-b", "--c"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  const RunOptions& r = o.value();
  EXPECT_EQ(r.config.memory, 32ULL << 20);
  EXPECT_TRUE(r.memory_given);
  EXPECT_EQ(r.config.name, "web");
  EXPECT_EQ(r.config.on_crash, Action::kRestart);
  EXPECT_EQ(r.max_restarts, 3u);
  ASSERT_EQ(r.disks.size(), 1u);
  EXPECT_TRUE(r.disks[0].read_only);
  EXPECT_TRUE(r.net_none);
  EXPECT_EQ(r.busy_poll_us, 0u);
  EXPECT_EQ(r.image_path, "img");
  EXPECT_EQ(r.guest_args, (std::vector<std::string>{"a", "-b", "--c"}));
}

TEST(RunSpec, HelpStopsReading) {
  auto o = parse({"--help", "--bogus"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o.value().help);
}

TEST(RunSpec, TheFirstBadArgumentIsAnError) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--max-restarts", "abc", "img"}, "--max-restarts takes a whole number from 0 to 1000000, not `abc`"},
           {{"-m", "lots", "img"}, "-m takes"},
           {{"--on-reboot", "explode", "img"}, "--on-reboot takes destroy, restart or preserve, not `explode`"},
           {{"img", "--name"}, "--name needs a value"},
           {{"--frobnicate", "img"}, "unknown option --frobnicate"},
           {{"--disk", "d.img,queues=99", "img"}, "cannot read --disk `d.img,queues=99`"},
           {{"-p", "nonsense", "img"}, "cannot read --publish nonsense"},
           {{"--net", "carrier-pigeon", "img"}, "--net carrier-pigeon: "},
           {{}, "run needs an IMAGE"},
           {{"--require-signed", "img"}, "--require-signed needs --trusted-keys DIR"},
       }) {
    auto o = parse(c.args);
    ASSERT_FALSE(o.ok()) << c.message;
    EXPECT_TRUE(o.error().usage);
    EXPECT_NE(o.error().message.find(c.message), std::string::npos) << o.error().message;
  }
}

TEST(RunSpec, AMissingImageIsAnErrorNotAnExit) {
  auto o = parse({"/nonexistent/image"});
  ASSERT_TRUE(o.ok());
  auto plan = resolve_run(std::move(o.value()));
  ASSERT_FALSE(plan.ok());
  EXPECT_FALSE(plan.error().usage);
  EXPECT_NE(plan.error().message.find("/nonexistent/image"), std::string::npos) << plan.error().message;
}

TEST(RunSpec, NoDaemonAndBusyPollAreNoted) {
  auto o = parse({"--no-daemon", "img"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_TRUE(o.value().no_daemon);
  EXPECT_FALSE(o.value().busy_poll_given);
  auto p = parse({"--busy-poll", "100", "img"});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.value().no_daemon);
  EXPECT_TRUE(p.value().busy_poll_given) << "even at the default value: the user asked for it";
}

TEST(RunSpec, RelativePathsAreAnchoredAbsoluteOnesKept) {
  auto o = parse({"--disk", "d.img,ro", "--disk", "/abs/e.img", "--console-log", "out/log", "--trusted-keys", "keys",
                  "sub/img"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  RunOptions r = o.value();
  anchor_paths(r, "/home/u/dir");
  EXPECT_EQ(r.image_path, "/home/u/dir/sub/img");
  EXPECT_EQ(r.disks[0].path, "/home/u/dir/d.img");
  EXPECT_TRUE(r.disks[0].read_only);
  EXPECT_EQ(r.disks[1].path, "/abs/e.img");
  EXPECT_EQ(r.console_log, "/home/u/dir/out/log");
  EXPECT_EQ(r.trusted_keys, "/home/u/dir/keys");
}
