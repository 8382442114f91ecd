// A guest that takes everything xenstored lets one domain have and keeps it
// while it churns: it runs into each per-domain quota (hypervisor/xenstore/
// xs_options.h) and checks the error it gets: a value over 2048 bytes (ENOSPC, as C xenstored),
// more than 5 permissions on a node, a transaction that touches more than
// 1024 nodes, more than 10 open transactions, more than 128 watches, more than
// 1000 nodes (EQUOTA for each). Then, with its nodes, watches and
// transactions all at their limits, it rewrites its watched nodes without
// pause (a watch storm on itself: every write fires its watches) until the
// host writes data/stop; the neighbour on the same store must not notice
// (run_neighbour.py). Last, it lets everything go and writes again.
#include <stdio.h>

#include <string>
#include <vector>

#include "atoll/sched.h"
#include "atoll/xenstore.h"
#include "atoll/xs_codec.h"
#include "check.h"

using namespace atl;

namespace {

const char* error_name(Errno e) { return e == xs::kErrQuota ? "EQUOTA" : e == Errno::kNoSpc ? "ENOSPC" : "other"; }

// Repeats `step` until it fails, at most `limit` times; returns how many succeeded.
template <typename Step>
unsigned until_refused(unsigned limit, Errno& error, Step step) {
  for (unsigned i = 0; i < limit; ++i) {
    Result<void> r = step(i);
    if (!r.ok()) {
      error = r.error();
      return i;
    }
  }
  error = Errno::kInval;
  return limit;
}

}  // namespace

int main() {
  xs::Client* c = xs::client();
  CHECK(c != nullptr, "connected to xenstore");
  if (!c) return check_result("xs_quota");
  Errno e = Errno::kInval;

  auto big = c->write("data/big", std::string(2049, 'x'));
  CHECK(!big.ok() && big.error() == Errno::kNoSpc, "a 2049-byte value: %s", big.ok() ? "accepted" : error_name(big.error()));
  CHECK(c->write("data/big", std::string(2048, 'x')).ok(), "a 2048-byte value is fine");

  std::vector<xs::Permission> perms;
  for (unsigned d = 0; d < 6; ++d) perms.push_back({DomId(static_cast<uint16_t>(d == 0 ? 1 : d + 1)), xs::Access::kRead});
  auto p = c->set_perms("data/big", perms);
  CHECK(!p.ok() && p.error() == xs::kErrQuota, "6 permissions on a node: %s", p.ok() ? "accepted" : error_name(p.error()));

  {
    auto t = c->transaction_start();
    CHECK(t.ok(), "a transaction");
    unsigned n = t.ok() ? until_refused(1100, e, [&](unsigned i) -> Result<void> {
      auto r = t->read("data/missing/" + std::to_string(i));
      if (!r.ok() && r.error() == Errno::kNoEnt) return {};
      return r.ok() ? Result<void>() : Result<void>(r.error());
    }) : 0;
    CHECK(n >= 1000 && n < 1100 && e == xs::kErrQuota, "a transaction that reads %u missing nodes is stopped: %s", n,
          error_name(e));
  }

  std::vector<xs::Transaction> open;
  unsigned txs = until_refused(20, e, [&](unsigned) -> Result<void> {
    auto t = c->transaction_start();
    if (!t.ok()) return t.error();
    open.push_back(std::move(*t));
    return {};
  });
  CHECK(txs == 10 && e == xs::kErrQuota, "the 11th open transaction: %u open, then %s", txs, error_name(e));

  // The nodes the storm below rewrites, each watched.
  constexpr unsigned kStormNodes = 64;
  unsigned made = until_refused(kStormNodes, e, [&](unsigned i) { return c->write("data/w/" + std::to_string(i), "0"); });
  CHECK(made == kStormNodes, "%u watched nodes", made);
  std::vector<xs::Watch> watches;
  uint64_t fired = 0;
  unsigned nw = until_refused(200, e, [&](unsigned i) -> Result<void> {
    auto w = c->watch("data/w/" + std::to_string(i), [&](std::string_view) { ++fired; });
    if (!w.ok()) return w.error();
    watches.push_back(std::move(*w));
    return {};
  });
  // The kernel's own watches (control/shutdown, devices) count too.
  CHECK(nw > 100 && nw <= 128 && e == xs::kErrQuota, "watches: %u, then %s", nw, error_name(e));

  unsigned nodes = until_refused(2000, e, [&](unsigned i) { return c->write("data/n/" + std::to_string(i), "v"); });
  CHECK(nodes > 800 && nodes < 1000 && e == xs::kErrQuota, "nodes: %u, then %s", nodes, error_name(e));
  // Rewriting nodes that exist needs no quota: the storm below is made of that.
  CHECK(c->write("data/w/0", "again").ok(), "an existing node can still be rewritten");

  printf("xs_quota: attacking\n");
  fflush(stdout);
  uint64_t writes = 0, refused = 0;
  for (;;) {
    for (unsigned i = 0; i < kStormNodes; ++i, ++writes)
      refused += !c->write("data/w/" + std::to_string(i), std::to_string(writes)).ok();
    if (c->read("data/stop").ok()) break;
    // Requests wait for their replies without leaving this thread: give the
    // "xenstore" thread a turn to run the watch callbacks.
    sched::sleep_ns(1'000'000);
  }
  printf("xs_quota: %llu writes while at every limit, %llu watch events\n", static_cast<unsigned long long>(writes),
         static_cast<unsigned long long>(fired));
  CHECK(refused == 0, "no rewrite was refused (%llu)", static_cast<unsigned long long>(refused));
  CHECK(fired > 0, "the watches fired");

  open.clear();
  watches.clear();
  CHECK(c->rm("data/n").ok() && c->rm("data/w").ok() && c->write("data/after", "fine").ok(), "after letting go, a new node can be written");
  auto t = c->transaction_start();
  CHECK(t.ok() && t->commit().ok(), "and a transaction started");
  return check_result("xs_quota");
}
