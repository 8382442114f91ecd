// The xenstore daemon proper, independent of transports: the tree, the
// watches, and one handler per request type of xs_wire.h. A transport hands it
// whole messages from a Connection; replies and watch events are queued on the
// connections and pushed out by flush() once per batch.
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/result.h"
#include "node_store.h"
#include "xenstored_watch.h"
#include "xs_connection.h"
#include "xs_options.h"
#include "xs_wire.h"

namespace atl::hv::xs {

// What the daemon asks of whoever owns the guests' rings (Xenstored).
class DomainRegistry {
 public:
  virtual ~DomainRegistry() = default;
  virtual bool is_introduced(DomId domid) const = 0;
  // INTRODUCE / RELEASE from a privileged client.
  virtual Result<void> introduce_from_wire(DomId domid) = 0;
  virtual Result<void> release_from_wire(DomId domid) = 0;
};

class Core {
 public:
  explicit Core(const XsOptions& options);
  void set_domain_registry(DomainRegistry* registry) { m_domains = registry; }

  // Handles one complete request from `conn`, queueing its reply.
  void handle(Connection& conn, const Message& msg);
  // Forgets what `conn` holds (watches, transactions) before it goes away.
  void disconnect(Connection& conn);
  // Pushes out what every connection has queued.
  void flush() { m_flush_list.flush_all(); }
  FlushList& flush_list() { return m_flush_list; }

  // The node operations for a caller, with names as the caller gives them
  // (relative ones resolve against its home). `tx` may be null; outside a
  // transaction the watches fire at once, inside on commit.
  Result<std::string> read(DomId caller, Transaction* tx, std::string_view name);
  Result<void> write(DomId caller, Transaction* tx, std::string_view name, std::string_view value);
  Result<void> mkdir(DomId caller, Transaction* tx, std::string_view name);
  Result<void> rm(DomId caller, Transaction* tx, std::string_view name);
  Result<std::vector<std::string>> directory(DomId caller, Transaction* tx, std::string_view name);
  Result<Perms> get_perms(DomId caller, Transaction* tx, std::string_view name);
  Result<void> set_perms(DomId caller, Transaction* tx, std::string_view name, Perms perms);

  // Commits (or with `commit` false, abandons) one of `conn`'s transactions.
  Result<void> end_transaction(Connection& conn, uint32_t tx_id, bool commit);
  // Registers a watch; the caller fires it once (after its reply).
  Result<ResolvedPath> add_watch(Connection& conn, std::string_view name, std::string_view token);
  Result<void> remove_watch(Connection& conn, std::string_view name, std::string_view token);
  void fire_special(std::string_view name);

  const NodeStore& store() const { return m_store; }
  const WatchTable& watches() const { return m_watches; }
  const XsOptions& options() const { return m_options; }

 private:
  struct Request {
    Connection& conn;
    const Message& msg;
    Transaction* tx;
  };
  using Handler = Result<std::string> (Core::*)(Request&);
  struct HandlerInfo {
    Handler handler = nullptr;
    bool privileged = false;  // domain 0 only
    bool ignores_tx = false;  // the header's tx_id is not looked at
  };
  static const HandlerInfo* handler_for(uint32_t type);
  void reply(Connection& conn, const Message& msg, Result<std::string> payload);
  void fire_all(const std::vector<Change>& changes);
  // Resolves `name` for `caller`, applies `op` (a node_* operation) through a view
  // of the store or `tx`, and fires the watches its changes trigger.
  template <typename Op>
  Result<void> mutate(DomId caller, Transaction* tx, std::string_view name, Op op);
  // Permissions of a special node (@introduceDomain, @releaseDomain).
  Perms& special_perms(std::string_view name);

  // Request handlers (xenstored_requests.cpp, xenstored_domain.cpp).
  Result<std::string> do_read(Request& r);
  Result<std::string> do_write(Request& r);
  Result<std::string> do_mkdir(Request& r);
  Result<std::string> do_rm(Request& r);
  Result<std::string> do_directory(Request& r);
  Result<std::string> do_directory_part(Request& r);
  Result<std::string> do_get_perms(Request& r);
  Result<std::string> do_set_perms(Request& r);
  Result<std::string> do_watch(Request& r);
  Result<std::string> do_unwatch(Request& r);
  Result<std::string> do_reset_watches(Request& r);
  Result<std::string> do_transaction_start(Request& r);
  Result<std::string> do_transaction_end(Request& r);
  Result<std::string> do_get_domain_path(Request& r);
  Result<std::string> do_introduce(Request& r);
  Result<std::string> do_release(Request& r);
  Result<std::string> do_is_domain_introduced(Request& r);
  Result<std::string> do_resume(Request& r);
  Result<std::string> do_unsupported(Request& r);

  XsOptions m_options;
  NodeStore m_store;
  WatchTable m_watches;
  FlushList m_flush_list;
  DomainRegistry* m_domains = nullptr;
  std::map<std::string, Perms, std::less<>> m_special_perms;
  // WATCH replies "OK", then fires once: the event waits here for the reply.
  std::optional<std::pair<std::string, std::string>> m_initial_event;
};

// "OK\0", the payload of every reply that only acknowledges.
inline constexpr std::string_view kOk{"OK\0", 3};

}  // namespace atl::hv::xs
