// The xenstore client: requests and replies matched by request id, watches whose
// callbacks run in one dedicated thread, and transactions whose EAGAIN retry loop
// lives in one place, transact(). The protocol is xen/io/xs_wire.h; the bytes
// travel through a Transport: on the guest the xenstore ring page and its event
// channel (xs_ring_transport.cpp), in unit tests an in-process fake daemon.
//
//   auto& xs = *atl::xs::client();
//   auto name = xs.read("name");                       // relative to /local/domain/<id>
//   auto w = xs.watch("control/shutdown", [](std::string_view path) { ... });
//   auto r = atl::xs::transact([&](atl::xs::Transaction& t) -> atl::Result<void> {
//     auto n = t.read("counter");
//     if (!n.ok()) return n.error();
//     return t.write("counter", std::to_string(std::stoi(*n) + 1));
//   });
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/result.h"
#include "atoll/types.h"
#include "atoll/xs_codec.h"

namespace atl::xs {

// What the protocol core needs from below: a byte pipe to the daemon and a way to
// sleep until something changes.
//
// Concurrency: threads are cooperative. The Client never gives up the CPU except
// inside Transport::wait(), so its own state needs no locks. wait() must evaluate
// `ready` so that a wake-up arriving between the check and the sleep is not lost
// (sched::wait_until does this with upcalls masked).
class Transport {
 public:
  // Copies up to `length` bytes of the request stream to the daemon and tells it
  // so. Returns how many fitted (0 when the ring is full); never blocks.
  virtual size_t write(const void* data, size_t length) = 0;
  // Copies up to `length` bytes of the reply stream out; never blocks.
  virtual size_t read(void* data, size_t length) = 0;
  virtual bool readable() = 0;
  virtual bool writable() = 0;
  // Blocks until ready() holds. Returns false when it never will because the
  // transport gave up (a fake daemon with nothing left to say).
  virtual bool wait(const std::function<bool()>& ready) = 0;
  // Wakes every thread blocked in wait(), to re-check its condition.
  virtual void wake_waiters() = 0;

 protected:
  ~Transport() = default;
};

class Client;

// The node operations, written once: a Client runs them outside any transaction,
// a Transaction inside its own. A path without a leading '/' is relative to the
// domain's home, /local/domain/<domid>.
class NodeOps {
 public:
  Result<std::string> read(std::string_view path);
  // Creates the node and any missing parents.
  Result<void> write(std::string_view path, std::string_view value);
  Result<void> mkdir(std::string_view path);
  // Removes the node and everything below it.
  Result<void> rm(std::string_view path);
  // The names (not paths) of the node's children.
  Result<std::vector<std::string>> directory(std::string_view path);
  Result<std::vector<Permission>> get_perms(std::string_view path);
  Result<void> set_perms(std::string_view path, const std::vector<Permission>& permissions);

 protected:
  NodeOps(Client* client, uint32_t tx_id) : m_client(client), m_tx_id(tx_id) {}
  ~NodeOps() = default;
  Result<std::string> call(xsd_sockmsg_type type, std::string_view payload);

  Client* m_client;
  uint32_t m_tx_id;     // 0: outside any transaction (the wire's "no transaction")
  bool m_ended = false;  // an ended transaction runs no more operations
};

// A transaction: reads see one snapshot and writes apply together at commit().
// Destroying one that was neither committed nor aborted aborts it.
class Transaction final : public NodeOps {
 public:
  Transaction(Transaction&& other);
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // Ends the transaction and applies its writes. Errno::kAgain means another
  // writer changed what it read: nothing was applied; start over (transact()).
  Result<void> commit();
  Result<void> abort();
  uint32_t id() const { return m_tx_id; }
  bool active() const { return !m_ended; }

 private:
  friend class Client;
  enum class Outcome { kCommit, kAbort };
  Transaction(Client* client, uint32_t tx_id) : NodeOps(client, tx_id) {}
  Result<void> end(Outcome outcome);
};

// Called with the path that changed: the watched node or one below it.
using WatchCallback = std::function<void(std::string_view path)>;

// A registered watch; destroying it unregisters it. Empty when default-made or
// moved from. The Client must outlive its watches.
class Watch {
 public:
  Watch() = default;
  Watch(Watch&& other) noexcept;
  Watch& operator=(Watch&& other) noexcept;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch();

  Result<void> unwatch();
  bool active() const { return m_client != nullptr; }
  const std::string& token() const { return m_token; }

 private:
  friend class Client;
  Watch(Client* client, std::string token) : m_client(client), m_token(std::move(token)) {}
  Client* m_client = nullptr;
  std::string m_token;
};

class Client final : public NodeOps {
 public:
  explicit Client(Transport& transport) : NodeOps(this, 0), m_transport(transport) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<Transaction> transaction_start();

  // Watches `path` and everything below it. The daemon fires the watch once at
  // registration, then whenever a node there is written or removed (removing a
  // parent removes, and fires for, the nodes below it). Callbacks run only inside
  // dispatch_watch_events() (on the guest: the "xenstore" thread), one at a
  // time, never in interrupt context; they may issue requests.
  Result<Watch> watch(std::string_view path, WatchCallback callback);

  // The home of domain `domid`: "/local/domain/<domid>".
  Result<std::string> get_domain_path(DomId domid);

  // Low level: one request, and its reply matched by req_id. Any number may be
  // outstanding, from several threads or pipelined by one; each id is awaited
  // exactly once. The reply is the payload, or the error an XS_ERROR names.
  Result<uint32_t> send_request(xsd_sockmsg_type type, uint32_t tx_id, std::string_view payload);
  Result<std::string> await_reply(uint32_t req_id);
  Result<std::string> request(xsd_sockmsg_type type, uint32_t tx_id, std::string_view payload);

  // Reads what the daemon sent and routes it: replies to their requests, watch
  // events to the queue. Never blocks.
  Result<void> pump();
  // Runs the queued watch callbacks in the calling thread; returns how many ran.
  size_t dispatch_watch_events();
  size_t queued_watch_events() const { return m_events.size(); }
  // The watch thread's loop body: waits for watch events and runs them. False
  // once the transport is gone.
  bool wait_and_dispatch();
  // Waits (reading replies and queueing events meanwhile) until done() holds.
  Result<void> wait_for(const std::function<bool()>& done);

  struct Stats {
    uint64_t unmatched_replies = 0;  // a reply to a req_id nobody awaits: dropped
    uint64_t malformed_events = 0;   // a WATCH_EVENT without path or token: dropped
    uint64_t stale_events = 0;       // an event for a watch since removed: dropped
  };
  const Stats& stats() const { return m_stats; }
  // The reply stream broke (a header claimed more than XENSTORE_PAYLOAD_MAX
  // bytes): nothing can be parsed after it, so every request fails with EIO.
  bool broken() const { return m_broken; }

 private:
  friend class Watch;

  struct Pending {
    xsd_sockmsg_type type;
    bool done = false;
    Result<std::string> reply = Errno::kIo;
  };
  struct WatchEntry {
    std::string path;
    WatchCallback callback;
  };

  uint32_t allocate_req_id();
  Result<void> send_bytes(std::string_view bytes);
  void route(Message&& message);
  void fail_all();
  Result<void> unwatch(const std::string& token);

  Transport& m_transport;
  MessageParser m_parser;
  std::map<uint32_t, Pending> m_pending;
  std::map<std::string, std::shared_ptr<WatchEntry>, std::less<>> m_watches;
  std::deque<WatchEvent> m_events;
  uint32_t m_last_req_id = 0;
  uint64_t m_last_token = 0;
  bool m_sending = false;
  bool m_broken = false;
  Stats m_stats;
};

using TransactionBody = std::function<Result<void>(Transaction&)>;
inline constexpr int kTransactAttempts = 32;

// Runs `body` in a fresh transaction and commits it, starting over for as long
// as the commit, or the body, reports EAGAIN (up to `max_attempts` times, then
// EAGAIN). Any other error from the body aborts the transaction and is returned.
// The body can run more than once, so it must derive everything it writes from
// what it reads through `t`.
Result<void> transact(Client& client, const TransactionBody& body, int max_attempts = kTransactAttempts);

// ---- Domain control (control/shutdown), as the toolstack drives it ----

enum class ShutdownRequest { kNone, kPoweroff, kReboot, kUnsupported };

// "poweroff" and "halt" → kPoweroff, "reboot" → kReboot, "" → kNone; anything
// else ("suspend", ...) → kUnsupported.
ShutdownRequest parse_shutdown_request(std::string_view value);

// Reads control/shutdown and, when it holds a request this guest acts on,
// clears it, in one transaction. An unsupported request is left in place.
Result<ShutdownRequest> take_shutdown_request(Client& client);

// ---- The domain's own connection (guest only) ----

// Connects to the daemon through the store ring the platform's boot info names
// and starts the "xenstore" thread that runs watch callbacks. Called at boot
// (libc-glue/boot.cpp) once threads and event channels work. Errno::kNoDev when
// the domain has no xenstore. Calling it again does nothing.
Result<void> boot_init();

// The connection boot_init() made; nullptr before it or when it failed.
Client* client();

// transact() on the domain's connection (Errno::kNoDev without one).
Result<void> transact(const TransactionBody& body);

// Watches control/shutdown: "poweroff" (or "halt") clears the key and calls
// exit(0), so stdio is flushed; "reboot" clears it, flushes stdio and reboots the
// domain. Needs boot_init() first.
Result<void> watch_control_shutdown();
// The same, registered by the xenstore thread once it first runs (when main()
// first blocks or yields), keeping the round trip off the boot path. A request
// written before then is still seen: a watch fires once when registered.
Result<void> watch_control_shutdown_in_background();

}  // namespace atl::xs
