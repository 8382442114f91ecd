// The domain's own xenstore connection: set up at boot from the ring the
// platform's boot info names, served by the "xenstore" thread, and the
// control/shutdown watch.
#include <stdio.h>
#include <stdlib.h>

#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "atoll/sched.h"
#include "atoll/xenstore.h"
#include "xs_ring_transport.h"

namespace atl::xs {
namespace {

// Made once at boot and never freed: the connection lives as long as the domain.
RingTransport* g_transport;
Client* g_client;
Watch* g_shutdown_watch;
bool g_control_watch_requested;

// Runs every watch callback, so none runs in interrupt context or in a thread
// that happened to be waiting for a reply.
void xenstore_thread(void* arg) {
  auto* client = static_cast<Client*>(arg);
  // Registered here rather than at boot, so main() does not wait for the round trip.
  if (g_control_watch_requested) {
    auto r = watch_control_shutdown();
    if (!r.ok()) kernel::console_print("xenstore: cannot watch control/shutdown (error %d)\n", to_int(r.error()));
  }
  while (client->wait_and_dispatch()) {
  }
  kernel::console_print("xenstore: the daemon broke the ring protocol; watches stop\n");
}

void on_control_shutdown(std::string_view) {
  auto request = take_shutdown_request(*g_client);
  if (!request.ok()) {
    kernel::console_print("xenstore: cannot take control/shutdown (error %d)\n", to_int(request.error()));
    return;
  }
  switch (*request) {
    case ShutdownRequest::kNone:
      return;
    case ShutdownRequest::kUnsupported:
      kernel::console_print("xenstore: ignoring an unsupported control/shutdown request\n");
      return;
    case ShutdownRequest::kPoweroff:
      exit(0);  // atexit handlers and stdio flushing, then SHUTDOWN_poweroff
    case ShutdownRequest::kReboot:
      fflush(nullptr);
      kernel::shutdown_reboot();
  }
}

}  // namespace

Result<void> boot_init() {
  if (g_client) return {};
  const auto& store = platform::boot_info().store;
  if (!store) return Errno::kNoDev;
  auto* ring = static_cast<xenstore_domain_interface*>(platform::gfn_to_virt(store->gfn));
  auto* transport = new RingTransport(ring, store->port);
  if (!transport->sane()) {
    delete transport;
    return Errno::kIo;
  }
  auto* client = new Client(*transport);
  if (!sched::create("xenstore", xenstore_thread, client)) {
    delete client;
    delete transport;
    return Errno::kNoMem;
  }
  g_transport = transport;
  g_client = client;
  g_transport->bind();
  return {};
}

Client* client() { return g_client; }

Result<void> transact(const TransactionBody& body) {
  if (!g_client) return Errno::kNoDev;
  return transact(*g_client, body);
}

Result<void> watch_control_shutdown_in_background() {
  if (!g_client) return Errno::kNoDev;
  g_control_watch_requested = true;
  return {};
}

Result<void> watch_control_shutdown() {
  if (!g_client) return Errno::kNoDev;
  if (g_shutdown_watch) return {};
  // Relative: the daemon resolves it against /local/domain/<our id>.
  auto watch = g_client->watch("control/shutdown", on_control_shutdown);
  if (!watch.ok()) return watch.error();
  g_shutdown_watch = new Watch(std::move(*watch));
  return {};
}

}  // namespace atl::xs
