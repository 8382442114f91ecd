// One xenstore client: a host tool on the socket, a guest on its ring, or the
// hypervisor itself. The daemon queues replies and watch events here; the
// transport (socket, ring) moves them out in flush(). A connection also holds
// what the client opened: its transactions (the watches live in WatchTable).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/types.h"
#include "xenstored_transaction.h"

namespace atl::hv::xs {

class Connection;

// Connections with queued output, flushed once per batch of requests so a
// burst of events costs one notification.
class FlushList {
 public:
  void add(Connection* conn);
  void forget(Connection* conn);
  // Flushes every listed connection (each may unlist itself meanwhile).
  void flush_all();

 private:
  std::vector<Connection*> m_conns;
};

class Connection {
 public:
  Connection(DomId domid, FlushList& flush_list);
  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  DomId domid() const { return m_domid; }
  // "/local/domain/<domid>": what relative paths resolve against.
  const std::string& home() const { return m_home; }

  // Queues one encoded message (reply or event) for the peer.
  void send(std::string message);
  virtual void deliver_event(std::string_view path, std::string_view token);
  // Moves queued output to the peer as far as the transport allows.
  virtual void flush() = 0;

  size_t pending_output() const { return m_out_bytes; }
  // Set when the peer stopped taking output for too long, or broke the
  // protocol; the owner closes the connection after the current request.
  bool failed() const { return m_failed; }
  void fail() { m_failed = true; }

  // Transactions this client opened, by id.
  Transaction* find_transaction(uint32_t id);
  Transaction& start_transaction();
  std::unique_ptr<Transaction> end_transaction(uint32_t id);
  size_t transaction_count() const { return m_transactions.size(); }
  void drop_transactions() { m_transactions.clear(); }

  void set_output_limit(size_t bytes) { m_output_limit = bytes; }

 protected:
  // Output not yet taken: `m_out.front()` is partly sent when `m_out_offset` > 0.
  std::deque<std::string> m_out;
  size_t m_out_offset = 0;
  // Drops `n` bytes from the front of the queue after the transport took them.
  void consumed(size_t n);
  // Forgets all queued output and any failure (a transport starting over).
  void discard_output();

 private:
  DomId m_domid;
  std::string m_home;
  FlushList& m_flush_list;
  size_t m_out_bytes = 0;
  size_t m_output_limit = SIZE_MAX;
  bool m_failed = false;
  std::map<uint32_t, std::unique_ptr<Transaction>> m_transactions;
  uint32_t m_next_tx = 1;
};

}  // namespace atl::hv::xs
