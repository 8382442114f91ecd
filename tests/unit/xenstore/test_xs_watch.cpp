// Watches: the first fire on registration, changes to the node and below it,
// removals of ancestors, no false matches on name prefixes, unwatch, relative
// paths, who may hear what, the special @introduceDomain/@releaseDomain, and
// the hypervisor's own callback watches.
#include <gtest/gtest.h>

#include "event_loop.h"
#include "xenstored.h"
#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

using Events = std::vector<std::string>;

class XsWatch : public ::testing::Test {
 protected:
  XsOptions options;
  Core core{options};
  Client dom0{core, DomId(0)};
  Client watcher{core, DomId(0)};
};

TEST_F(XsWatch, FiresOnceWhenRegistered) {
  EXPECT_EQ(watcher.watch("/not/there/yet", "tok"), kOK);
  EXPECT_EQ(watcher.events(), Events{"/not/there/yet|tok"});
  // The event comes after the reply, as in xenstored.
  EXPECT_EQ(watcher.watch("/x", "t2"), kOK);
  ASSERT_EQ(watcher.conn.received.size(), 1u);
  EXPECT_EQ(watcher.conn.received[0].type(), MsgType::kWatchEvent);
}

TEST_F(XsWatch, NodeAndDescendantsButNotPrefixSiblings) {
  ASSERT_EQ(watcher.watch("/a/b", "t"), kOK);
  watcher.events();
  EXPECT_EQ(dom0.write("/a/b", "1"), kOK);
  EXPECT_EQ(dom0.write("/a/b/c/d", "2"), kOK);
  EXPECT_EQ(dom0.write("/a/bc", "3"), kOK);
  EXPECT_EQ(dom0.write("/a", "4"), kOK);
  EXPECT_EQ(dom0.write("/z", "5"), kOK);
  EXPECT_EQ(watcher.events(), (Events{"/a/b|t", "/a/b/c/d|t"}));
}

TEST_F(XsWatch, AncestorRemovalReachesWatchesBelow) {
  ASSERT_EQ(dom0.write("/r/s/t", "x"), kOK);
  ASSERT_EQ(watcher.watch("/r/s/t", "deep"), kOK);
  ASSERT_EQ(watcher.watch("/r/s/never", "missing"), kOK);
  ASSERT_EQ(watcher.watch("/r", "top"), kOK);
  ASSERT_EQ(watcher.watch("/rr", "other"), kOK);
  watcher.events();
  EXPECT_EQ(dom0.rm("/r/s"), kOK);
  Events e = watcher.events();
  std::sort(e.begin(), e.end());
  EXPECT_EQ(e, (Events{"/r/s/never|missing", "/r/s/t|deep", "/r/s|top"}));
}

TEST_F(XsWatch, SetPermsAndMkdirFire) {
  ASSERT_EQ(watcher.watch("/m", "t"), kOK);
  watcher.events();
  EXPECT_EQ(dom0.mkdir("/m"), kOK);
  EXPECT_EQ(dom0.mkdir("/m"), kOK);
  EXPECT_EQ(dom0.set_perms("/m", {"n0", "r4"}), kOK);
  EXPECT_EQ(dom0.rm("/m/nothing"), kOK);
  EXPECT_EQ(watcher.events(), (Events{"/m|t", "/m|t"})) << "an existing mkdir and a no-op rm are silent";
}

TEST_F(XsWatch, UnwatchStopsEventsAndDuplicatesAreRefused) {
  ASSERT_EQ(watcher.watch("/u", "t"), kOK);
  EXPECT_EQ(watcher.watch("/u", "t"), "E:EEXIST");
  EXPECT_EQ(watcher.watch("/u", "t2"), kOK) << "another token is another watch";
  watcher.events();
  EXPECT_EQ(watcher.unwatch("/u", "t"), kOK);
  EXPECT_EQ(watcher.unwatch("/u", "t"), "E:ENOENT");
  EXPECT_EQ(watcher.unwatch("/v", "t2"), "E:ENOENT");
  EXPECT_EQ(dom0.write("/u", "1"), kOK);
  EXPECT_EQ(watcher.events(), Events{"/u|t2"});
  EXPECT_EQ(core.watches().size(), 1u);
}

TEST_F(XsWatch, ResetWatchesRemovesAll) {
  ASSERT_EQ(watcher.watch("/a", "1"), kOK);
  ASSERT_EQ(watcher.watch("/b", "2"), kOK);
  EXPECT_EQ(watcher.call(MsgType::kResetWatches, {""}), kOK);
  watcher.events();
  EXPECT_EQ(dom0.write("/a", "x"), kOK);
  EXPECT_TRUE(watcher.events().empty());
  EXPECT_EQ(core.watches().size(), 0u);
}

TEST_F(XsWatch, RelativeWatchesReportRelativePaths) {
  ASSERT_EQ(dom0.mkdir("/local/domain/6"), kOK);
  ASSERT_EQ(dom0.set_perms("/local/domain/6", {"n6"}), kOK);
  Client guest(core, DomId(6));
  EXPECT_EQ(guest.watch("control", "c"), kOK);
  EXPECT_EQ(guest.watch("/local/domain/6/data", "abs"), kOK);
  EXPECT_EQ(guest.events(), (Events{"control|c", "/local/domain/6/data|abs"}));
  EXPECT_EQ(dom0.write("/local/domain/6/control/shutdown", "poweroff"), kOK);
  EXPECT_EQ(dom0.write("/local/domain/6/data/x", "1"), kOK);
  EXPECT_EQ(guest.events(), (Events{"control/shutdown|c", "/local/domain/6/data/x|abs"}));
  EXPECT_EQ(guest.unwatch("/local/domain/6/control", "c"), kOK) << "same watch, absolute name";
}

TEST_F(XsWatch, OnlyReadersHearOfChanges) {
  ASSERT_EQ(dom0.mkdir("/local/domain/6"), kOK);
  ASSERT_EQ(dom0.set_perms("/local/domain/6", {"n6"}), kOK);
  ASSERT_EQ(dom0.write("/pub", ""), kOK);
  ASSERT_EQ(dom0.set_perms("/pub", {"n0", "r6"}), kOK);
  Client guest(core, DomId(6));
  EXPECT_EQ(guest.watch("/", "root"), kOK);
  guest.events();
  EXPECT_EQ(dom0.write("/local/domain/7/private", "p"), kOK);
  EXPECT_EQ(dom0.write("/pub/news", "n"), kOK);
  EXPECT_EQ(dom0.write("/local/domain/6/mine", "m"), kOK);
  EXPECT_EQ(guest.events(), (Events{"/pub/news|root", "/local/domain/6/mine|root"}));
  // Losing access to a node is news to those who had it.
  EXPECT_EQ(dom0.set_perms("/pub/news", {"n0"}), kOK);
  EXPECT_EQ(guest.events(), Events{"/pub/news|root"});
  EXPECT_EQ(dom0.write("/pub/news", "secret now"), kOK);
  EXPECT_TRUE(guest.events().empty());
}

TEST_F(XsWatch, EventTooLongForOneMessageIsDropped) {
  std::string token(kPayloadMax - 10, 't');
  ASSERT_EQ(watcher.watch("/averyveryverylongpath", token), kOK);
  EXPECT_TRUE(watcher.events().empty());
  EXPECT_EQ(dom0.write("/x", "still fine"), kOK);
}

// --- The daemon as the hypervisor uses it --------------------------------

class XsWatchDaemon : public ::testing::Test {
 protected:
  void drain() {
    for (int i = 0; i < 10; ++i) loop.run_once(0);
  }
  EventLoop loop;
  Xenstored xs{loop};
};

TEST_F(XsWatchDaemon, CallbacksFireFromTheLoopIncludingTheFirst) {
  std::vector<std::string> seen;
  uint64_t id = xs.watch("/cb", [&](const std::string& p) { seen.push_back(p); });
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(seen.empty()) << "never inside the call";
  drain();
  EXPECT_EQ(seen, std::vector<std::string>{"/cb"});
  ASSERT_TRUE(xs.write("/cb/x", "1").ok());
  ASSERT_TRUE(xs.write("/other", "1").ok());
  drain();
  EXPECT_EQ(seen, (std::vector<std::string>{"/cb", "/cb/x"}));
  xs.unwatch(id);
  ASSERT_TRUE(xs.write("/cb/y", "1").ok());
  drain();
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(xs.watch("bad path", [](const std::string&) {}), 0u);
}

TEST_F(XsWatchDaemon, CallbackMayWriteAndUnwatchItself) {
  uint64_t id = 0;
  int calls = 0;
  id = xs.watch("/loop", [&](const std::string&) {
    ++calls;
    (void)xs.write("/loop/echo", std::to_string(calls));
    if (calls == 2) xs.unwatch(id);
  });
  drain();
  EXPECT_EQ(calls, 2) << "first fire, then its own write; then unwatched";
  EXPECT_EQ(xs.read("/loop/echo").value(), "2");
}

TEST_F(XsWatchDaemon, IntroduceAndReleaseDomainFire) {
  std::vector<std::string> intro, release;
  xs.watch("@introduceDomain", [&](const std::string& p) { intro.push_back(p); });
  xs.watch("@releaseDomain", [&](const std::string& p) { release.push_back(p); });
  drain();
  ASSERT_EQ(intro.size(), 1u);
  ASSERT_EQ(release.size(), 1u);
  alignas(4096) static char page[4096];
  xs.introduce(5, page, [] {});
  drain();
  EXPECT_EQ(intro, (std::vector<std::string>{"@introduceDomain", "@introduceDomain"}));
  EXPECT_TRUE(xs.is_introduced(5));
  xs.introduce(5, page, [] {});
  drain();
  EXPECT_EQ(intro.size(), 2u) << "a second introduction of a known domain is not news";
  xs.release(5);
  drain();
  EXPECT_EQ(release, (std::vector<std::string>{"@releaseDomain", "@releaseDomain"}));
  EXPECT_FALSE(xs.is_introduced(5));
  xs.release(5);
  drain();
  EXPECT_EQ(release.size(), 2u);
}

TEST_F(XsWatchDaemon, GuestsHearSpecialWatchesOnlyWhenAllowed) {
  alignas(4096) static char page7[4096];
  alignas(4096) static char page8[4096];
  xs.introduce(7, page7, [] {});
  // A guest watching @releaseDomain through the core (as its ring would).
  Core& core = const_cast<Core&>(xs.core());
  FakeConnection guest(core, DomId(7));
  ASSERT_TRUE(core.add_watch(guest, "@releaseDomain", "r").ok());
  xs.introduce(8, page8, [] {});
  xs.release(8);
  EXPECT_TRUE(guest.take_events().empty()) << "@releaseDomain is domain 0's by default";
  ASSERT_TRUE(xs.set_perms("@releaseDomain", "n0 r7").ok());
  xs.introduce(8, page8, [] {});
  xs.release(8);
  EXPECT_EQ(guest.take_events(), Events{"@releaseDomain|r"});
}

TEST_F(XsWatchDaemon, WireIntroduceAndRelease) {
  Core& core = const_cast<Core&>(xs.core());
  Client tool(core, DomId(0));
  std::vector<std::string> intro;
  xs.watch("@introduceDomain", [&](const std::string& p) { intro.push_back(p); });
  drain();
  EXPECT_EQ(tool.call(MsgType::kIsDomainIntroduced, {"9"}), std::string("F\0", 2));
  EXPECT_EQ(tool.call(MsgType::kIntroduce, {"9", "1234", "3"}), kOK);
  EXPECT_EQ(tool.call(MsgType::kIsDomainIntroduced, {"9"}), std::string("T\0", 2));
  EXPECT_EQ(tool.call(MsgType::kResume, {"9"}), kOK);
  drain();
  EXPECT_EQ(intro.size(), 2u);
  EXPECT_EQ(tool.call(MsgType::kIntroduce, {"0", "1", "1"}), "E:EINVAL");
  EXPECT_EQ(tool.call(MsgType::kIntroduce, {"32752", "1", "1"}), "E:EINVAL") << "DOMID_FIRST_RESERVED";
  EXPECT_EQ(tool.call(MsgType::kIntroduce, {"9", "x", "1"}), "E:EINVAL");
  EXPECT_EQ(tool.call(MsgType::kRelease, {"9"}), kOK);
  EXPECT_EQ(tool.call(MsgType::kRelease, {"9"}), "E:ENOENT");
  EXPECT_EQ(tool.call(MsgType::kResume, {"9"}), "E:ENOENT");
  EXPECT_FALSE(xs.is_introduced(9));
}

}  // namespace
}  // namespace atl::hv::xs::test
