// A watch storm on other domains' xenstore paths, through the daemon's one
// shared store: the guest fills its watch quota with watches on the homes of
// the domains that come after it (its neighbour among them), on domain 0's
// home and backend tree, and on @introduceDomain and @releaseDomain, each
// path under several tokens. Every write the neighbour's boot and handshake
// make then runs past all of them. What the hypervisor owes:
//
//  * each watch fires once, when it is set (as Xen does), and never again:
//    nothing another domain writes may reach this one as an event, not even
//    that its node changed (the events are checked against the nodes'
//    permissions, old and new), nor that a domain came or went (the special
//    nodes are domain 0's);
//  * reads, writes, removals and permission changes of the neighbour's nodes
//    are refused (EACCES; a read of a node that is not there yet may say
//    ENOENT), round after round while the neighbour runs;
//  * the neighbour's handshake and disk I/O go on (run_neighbour.py).
#include <stdio.h>
#include <stdlib.h>

#include <map>
#include <string>
#include <vector>

#include "atoll/sched.h"
#include "atoll/xenstore.h"
#include "atoll/xs_codec.h"
#include "check.h"

using namespace atl;

namespace {

constexpr unsigned kOthers = 8;  // domain ids after ours watched

struct Storm {
  std::vector<xs::Watch> watches;
  std::map<std::string, unsigned> events_by_path;  // what each watched path reported
  unsigned events = 0, foreign = 0;
  std::string first_foreign;
};

std::vector<std::string> targets(unsigned me) {
  std::vector<std::string> t = {"/local/domain/0", "/local/domain/0/backend", "/local/domain/0/backend/vbd",
                                "/local/domain/0/backend/vif", "@introduceDomain", "@releaseDomain"};
  for (unsigned d = me + 1; d <= me + kOthers; ++d) {
    std::string home = "/local/domain/" + std::to_string(d);
    t.push_back(home);
    t.push_back(home + "/device/vbd");
    t.push_back("/local/domain/0/backend/vbd/" + std::to_string(d));
  }
  return t;
}

bool refused(const Result<void>& r) { return !r.ok() && r.error() == Errno::kAcces; }

}  // namespace

int main() {
  xs::Client* c = xs::client();
  CHECK(c != nullptr, "connected to xenstore");
  if (!c) return check_result("xs_watch_other");
  auto domid = c->read("domid");
  CHECK(domid.ok(), "our domid from xenstore");
  if (!domid.ok()) return check_result("xs_watch_other");
  const unsigned me = static_cast<unsigned>(strtoul(domid->c_str(), nullptr, 10));

  Storm s;
  std::vector<std::string> paths = targets(me);
  // Set one path after another, a token each, round robin, until the quota.
  Errno stop = Errno::kInval;
  for (unsigned i = 0; i < 400; ++i) {
    const std::string& p = paths[i % paths.size()];
    auto w = c->watch(p, [&s, p](std::string_view path) {
      ++s.events;
      if (path != p) {
        if (!s.foreign++) s.first_foreign = std::string(path) + " (watching " + p + ")";
        return;
      }
      ++s.events_by_path[p];
    });
    if (!w.ok()) {
      stop = w.error();
      break;
    }
    s.watches.push_back(std::move(*w));
  }
  CHECK(s.watches.size() > 100 && stop == xs::kErrQuota, "%zu watches on other domains' paths, then %s",
        s.watches.size(), stop == xs::kErrQuota ? "EQUOTA" : "another error");
  // Each fires once as it is set: wait for all of those first events.
  sched::sleep_ns(200'000'000);

  printf("xs_watch_other: attacking\n");
  fflush(stdout);
  std::string neighbour = "/local/domain/" + std::to_string(me + 1);
  unsigned rounds = 0, allowed = 0, read_errors = 0;
  Errno odd_read = Errno::kInval;
  while (!c->read("data/stop").ok()) {
    allowed += !refused(c->write(neighbour + "/data/x", "mine"));
    allowed += !refused(c->write(neighbour + "/device/vbd/51712/state", "6"));
    allowed += !refused(c->rm(neighbour + "/device"));
    allowed += !refused(c->set_perms(neighbour, {{DomId(static_cast<uint16_t>(me)), xs::Access::kBoth}}));
    allowed += !refused(c->write("/local/domain/0/backend/vbd/" + std::to_string(me + 1) + "/51712/state", "5"));
    for (const char* key : {"/name", "/device/vbd/51712/ring-ref", ""}) {
      auto r = c->read(neighbour + key);
      if (r.ok()) ++allowed;
      else if (r.error() != Errno::kAcces && r.error() != Errno::kNoEnt) odd_read = r.error(), ++read_errors;
    }
    auto d = c->directory(neighbour);
    allowed += d.ok();
    ++rounds;
    sched::sleep_ns(2'000'000);  // give the xenstore thread its turn for events
  }
  printf("xs_watch_other: %u rounds, %zu watches, %u events (%u foreign)\n", rounds, s.watches.size(), s.events,
         s.foreign);
  CHECK(allowed == 0, "no read, write, removal or permission change of the neighbour's nodes went through (%u did)",
        allowed);
  CHECK(read_errors == 0, "reads were refused with EACCES or ENOENT only (%u with %d)", read_errors,
        to_int(odd_read));
  CHECK(s.foreign == 0, "no event named a node of another domain (%u did; first: %s)", s.foreign,
        s.first_foreign.c_str());
  unsigned extra = 0;
  for (const auto& [path, n] : s.events_by_path) {
    unsigned set = 0;
    for (unsigned i = 0; i < s.watches.size(); ++i) set += paths[i % paths.size()] == path;
    if (n != set) {
      printf("xs_watch_other: %s: %u events for %u watches\n", path.c_str(), n, set);
      ++extra;
    }
  }
  CHECK(extra == 0 && s.events == s.watches.size(), "each watch fired once, when it was set (%u events, %zu watches)",
        s.events, s.watches.size());
  s.watches.clear();
  CHECK(c->write("data/after", "fine").ok(), "our own home still takes writes");
  return check_result("xs_watch_other");
}
