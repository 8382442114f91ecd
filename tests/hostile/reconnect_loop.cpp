// A guest that connects and closes its vif and its vbd over and over through
// the xenbus states, without ever making a request, until the host writes
// data/stop. Each cycle, one device after the other, the frontend closes the
// device (Closing), waits for the backend to follow (Closed: it ends the
// grants of the rings it gave it, which works only if the backend let go),
// then reopens it and waits until it is Connected again on fresh rings, event
// channel and grants. The rings stay empty throughout: the vif posts no
// receive buffers either.
//
// Every other cycle also closes a device in the middle of its handshake:
// reopened, it is closed again as soon as its rings are offered (Initialised,
// or Connected for the vif, written), while the backend is mapping them or
// has yet to see them, and must still let go of everything and connect again.
//
// Each connect costs the hypervisor mappings, event-channel bindings,
// xenstore watches and nodes, and whatever netback and blkback set up; each
// close must give all of it back. The host (run_neighbour.py --steady) counts
// the daemon's descriptors and memory at two pauses hundreds of cycles apart,
// and the neighbours on the same daemon must not notice.
#include <stdio.h>

#include "blk/hostile_front.h"
#include "check.h"
#include "host_control.h"
#include "hostile_device.h"
#include "net/hostile_vif.h"

using namespace atl;
using namespace atl::test;

namespace {

struct Tally {
  unsigned cycles = 0, not_released = 0, reconnect_failures = 0;
  unsigned aborted = 0;  // handshakes closed as the rings were offered
  int early_connects = 0;  // of those, the ones the backend connected before the close reached it
};

// Closed, then opened again; with `abort`, opened and closed once more as
// soon as the rings are offered (`offered`), before the reopen that must
// connect.
template <typename Driver, typename Offered, typename Gone>
void cycle(xs::XenbusDevice& device, Driver& driver, Offered offered, Gone gone, bool abort, Tally& t) {
  if (!close_until_released(device, driver, gone)) ++t.not_released;
  if (abort) {
    int connects = driver.connects;
    device.reopen();
    if (!sched::wait_until(driver.waiters, offered, time::monotonic_ns() + kDeviceStepNs)) ++t.reconnect_failures;
    if (!close_until_released(device, driver, gone)) ++t.not_released;
    ++t.aborted;
    t.early_connects += driver.connects - connects;
  }
  if (!reopen_until_connected(device, driver)) ++t.reconnect_failures;
}

bool connected(sched::WaitQueue& q, const bool& connected) {
  return sched::wait_until(q, [&] { return connected; }, time::monotonic_ns() + kDeviceStepNs);
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  HostileVif vif;
  vif.post_rx_buffers = false;
  HostileFront disk;
  auto vif_dev = open_only_device(*client, "vif", vif, xs::Handshake::kConnectDirectly);
  auto disk_dev = open_only_device(*client, "vbd", disk, xs::Handshake::kViaInitialised);
  if (!vif_dev || !disk_dev) return check_result("reconnect_loop");
  CHECK(vif_dev->start().ok() && disk_dev->start().ok(), "handshakes started");
  CHECK(connected(vif.waiters, vif.connected), "the vif connected");
  CHECK(connected(disk.waiters, disk.connected), "the vbd connected");
  if (!vif.connected || !disk.connected) return check_result("reconnect_loop");

  printf("reconnect_loop: attacking\n");
  fflush(stdout);
  Tally t;
  while (t.cycles < 10 || !host_says_stop(*client)) {
    // One device after the other: each closes while the other is connected.
    bool abort = t.cycles % 2;
    cycle(*vif_dev, vif, [&] { return vif.tx.has_value(); }, [&] { return !vif.tx; }, abort, t);
    cycle(*disk_dev, disk, [&] { return disk.ring.has_value(); }, [&] { return !disk.ring; }, abort, t);
    if (t.not_released || t.reconnect_failures) {
      printf("reconnect_loop: cycle %u went wrong\n", t.cycles);
      break;
    }
    ++t.cycles;
    between_rounds(*client, "reconnect_loop", t.cycles, 50);
  }
  printf("reconnect_loop: %u cycles, %u handshakes closed midway (%d connected first); vif %d connects, vbd %d connects\n",
         t.cycles, t.aborted, t.early_connects, vif.connects, disk.connects);
  CHECK(t.cycles >= 10 && t.aborted >= 10, "ten cycles at least (%u), five of each device closed midway", t.cycles);
  CHECK(t.not_released == 0, "each close reached Closed, every ring let go (%u not)", t.not_released);
  // One connect a cycle, and one more for each aborted handshake the backend
  // finished before the close reached it.
  CHECK(t.reconnect_failures == 0 && vif.connects + disk.connects == 2 * static_cast<int>(t.cycles) + 2 + t.early_connects,
        "each reopen connected again (vif %d, vbd %d connects in %u cycles)", vif.connects, disk.connects, t.cycles);
  CHECK(vif.connected && disk.connected, "both connected at the end");
  return check_result("reconnect_loop");
}
