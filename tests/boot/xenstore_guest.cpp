// A guest using xenstore over its ring: its own keys, watches, transactions
// (including a conflict retried by transact()), and the walls around it: another
// domain's path, dom0's, and the quotas on value size and node count.
#include <stdlib.h>
#include <xen/xen.h>

#include <string>

#include "atoll/sched.h"
#include "atoll/time.h"
#include "atoll/xenstore.h"
#include "check.h"

using namespace atl;

int main() {
  xs::Client* c = xs::client();
  CHECK(c != nullptr, "connected to xenstore at boot");
  if (!c) return check_result("xenstore_guest");

  // The toolstack picks the name and the domid (`atoll run`: the image's name
  // and 1; xl: the config's name and the next free id): read, not assumed.
  auto name = c->read("name");
  CHECK(name.ok() && !name->empty(), "relative read of name: %s", name.ok() ? name->c_str() : "error");
  auto domid_text = c->read("domid");
  const int self = domid_text.ok() ? atoi(domid_text->c_str()) : 0;
  CHECK(self > 0 && self < static_cast<int>(DOMID_FIRST_RESERVED), "domid: %s", domid_text.ok() ? domid_text->c_str() : "error");
  const std::string home_path = "/local/domain/" + std::to_string(self);
  auto home = c->get_domain_path(DomId(static_cast<uint16_t>(self)));
  CHECK(home.ok() && *home == home_path, "GET_DOMAIN_PATH: %s", home.ok() ? home->c_str() : "error");
  auto name_abs = c->read(home_path + "/name");
  CHECK(name_abs.ok() && name.ok() && *name_abs == *name, "the absolute path reads the same name");

  CHECK(c->write("data/greeting", "hello").ok(), "write data/greeting");
  auto back = c->read("data/greeting");
  CHECK(back.ok() && *back == "hello", "read it back");
  CHECK(c->mkdir("data/dir").ok() && c->write("data/dir/a", "1").ok() && c->write("data/dir/b", "2").ok(),
        "mkdir and two children");
  auto list = c->directory("data/dir");
  CHECK(list.ok() && list->size() == 2, "directory lists both (%zu)", list.ok() ? list->size() : 0);
  CHECK(c->rm("data/dir").ok() && c->read("data/dir/a").error() == Errno::kNoEnt, "rm removes the subtree");

  // Watches: the initial fire, then one per change below the path.
  int fired = 0;
  std::string last;
  auto w = c->watch("data/watched", [&](std::string_view path) {
    ++fired;
    last = std::string(path);
  });
  CHECK(w.ok(), "watch data/watched");
  auto settle = [&](int want) {
    uint64_t until = time::monotonic_ns() + 2000000000ULL;
    while (fired < want && time::monotonic_ns() < until) sched::sleep_ns(1000000);
  };
  settle(1);
  CHECK(fired >= 1, "the watch fired on registration");
  int before = fired;
  CHECK(c->write("data/watched/leaf", "x").ok(), "write below the watch");
  settle(before + 1);
  // A relative watch reports relative paths, as Xen's xenstored does.
  CHECK(fired > before && last == "data/watched/leaf", "the watch fired for the child (%s)", last.c_str());

  // Transactions: isolated until commit; a conflicting outside write forces a retry.
  int attempts = 0;
  auto tx = xs::transact([&](xs::Transaction& t) -> Result<void> {
    ++attempts;
    auto v = t.read("data/counter");
    int n = v.ok() ? std::stoi(*v) : 0;
    if (attempts == 1) (void)c->write("data/counter", "100");  // conflicts with this transaction
    return t.write("data/counter", std::to_string(n + 1));
  });
  auto counter = c->read("data/counter");
  CHECK(tx.ok() && attempts == 2, "transact() retried once after a conflict (%d attempts)", attempts);
  CHECK(counter.ok() && *counter == "101", "and committed on top of the other write (%s)",
        counter.ok() ? counter->c_str() : "error");
  {
    auto t = c->transaction_start();
    CHECK(t.ok() && t->write("data/uncommitted", "1").ok(), "write inside a transaction");
  }  // destroyed without commit: aborted
  CHECK(c->read("data/uncommitted").error() == Errno::kNoEnt, "an uncommitted transaction left nothing");

  // Walls.
  CHECK(c->read("/local/domain/0/name").error() == Errno::kAcces, "dom0's name is not readable");
  CHECK(c->write("/local/domain/0/data/x", "1").error() == Errno::kAcces, "dom0's tree is not writable");
  CHECK(!c->write("/local/domain/" + std::to_string(self + 1) + "/x", "1").ok(), "writing another domain's path fails");
  // ENOSPC: what C xenstored answers a node over its size quota.
  auto big = c->write("data/big", std::string(4000, 'x'));
  CHECK(!big.ok() && big.error() == Errno::kNoSpc, "a 4000-byte value is refused with ENOSPC (%d)",
        big.ok() ? 0 : to_int(big.error()));
  int created = 0;
  Errno last_error = Errno::kInval;
  for (int i = 0; i < 2000; ++i) {
    auto r = c->write("data/q/" + std::to_string(i), "v");
    if (!r.ok()) {
      last_error = r.error();
      break;
    }
    ++created;
  }
  CHECK(created < 2000, "the node quota stopped us after %d nodes (error %d)", created, to_int(last_error));
  CHECK(c->rm("data/q").ok(), "and removing them works");
  CHECK(c->write("data/after-quota", "fine").ok(), "the connection still works after the errors");
  return check_result("xenstore_guest");
}
