// An in-process xenstore daemon for the client's unit tests: it is the client's
// Transport, parses requests with its own (deliberately separate) code, keeps a
// node tree, fires watches, runs transactions, and lets a test reorder replies,
// inject raw bytes, script EAGAIN commits and error replies, and react to writes
// (a fake backend).
#pragma once

#include <stdint.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "atoll/xenstore.h"

namespace atl::xs::testing {

struct Request {
  uint32_t type;
  uint32_t req_id;
  uint32_t tx_id;
  std::vector<std::string> fields;  // the payload split at NULs
  std::string payload;
};

class FakeXenstored final : public Transport {
 public:
  explicit FakeXenstored(uint16_t domid = 1);

  // ---- Transport (what the client sees) ----
  size_t write(const void* data, size_t length) override;
  size_t read(void* data, size_t length) override;
  bool readable() override { return m_out.size() > m_out_offset; }
  bool writable() override { return m_write_budget > 0; }
  // Runs scheduled actions one by one until ready() holds; false when none is left.
  bool wait(const std::function<bool()>& ready) override;
  void wake_waiters() override { ++m_wakeups; }

  // ---- The store, as the host side sees it (no client involved) ----
  std::string home() const;
  void store_write(const std::string& path, const std::string& value);  // absolute or relative; fires watches
  void store_rm(const std::string& path);
  std::optional<std::string> store_read(const std::string& path) const;

  // ---- Scripting ----
  // While deferring, requests are logged but not answered until answer(i).
  void set_defer(bool defer) { m_defer = defer; }
  // Answers the i-th deferred request (in arrival order) from the store.
  void answer(size_t index);
  size_t deferred_count() const { return m_deferred.size(); }
  const Request& deferred(size_t index) const { return m_deferred[index]; }
  // Puts raw bytes, or a whole message, on the reply stream.
  void send_raw(const std::string& bytes);
  void send_message(uint32_t type, uint32_t req_id, uint32_t tx_id, const std::string& payload);
  // The next `count` commits fail with EAGAIN (the transaction is dropped).
  void fail_commits(int count) { m_commit_failures = count; }
  // Every request naming `path` (absolute) gets XS_ERROR `name`.
  void fail_path(const std::string& path, const std::string& name) { m_path_errors[path] = name; }
  // Runs when wait() is called and the client's condition does not hold yet.
  void on_wait(std::function<void()> action) { m_wait_actions.push_back(std::move(action)); }
  // Called after every write the client commits (path absolute).
  std::function<void(const std::string& path, const std::string& value)> on_client_write;
  // Limits how many bytes one write() accepts (a ring with little free space).
  void set_write_chunk(size_t bytes) { m_write_chunk = bytes; }
  // The ring takes `bytes` more and is then full until more budget is given.
  void set_write_budget(size_t bytes) { m_write_budget = bytes; }

  // ---- What happened ----
  const std::vector<Request>& requests() const { return m_log; }
  size_t count(uint32_t type) const;
  size_t watch_count() const { return m_watches.size(); }
  uint64_t wakeups() const { return m_wakeups; }

 private:
  struct WatchReg {
    std::string path;  // as the client gave it
    std::string token;
  };
  struct Tx {
    std::map<std::string, std::optional<std::string>> writes;  // nullopt: removed
  };

  std::string absolute(const std::string& path) const;
  void handle(const Request& request);
  void reply(const Request& request, uint32_t type, const std::string& payload);
  void error(const Request& request, const std::string& name);
  std::optional<std::string> lookup(const std::string& path, const Tx* tx) const;
  void apply_write(const std::string& path, const std::string& value, bool from_client);
  void fire(const std::string& path);
  std::string relative_for(const WatchReg& watch, const std::string& path) const;
  void commit(const Request& request, Tx& tx);

  uint16_t m_domid;
  std::string m_in;
  std::string m_out;
  size_t m_out_offset = 0;
  std::map<std::string, std::string> m_nodes;
  std::map<uint32_t, Tx> m_transactions;
  uint32_t m_next_tx = 1;
  std::vector<WatchReg> m_watches;
  std::vector<Request> m_log;
  std::vector<Request> m_deferred;
  std::vector<bool> m_answered;
  std::deque<std::function<void()>> m_wait_actions;
  std::map<std::string, std::string> m_path_errors;
  bool m_defer = false;
  int m_commit_failures = 0;
  size_t m_write_chunk = SIZE_MAX;
  size_t m_write_budget = SIZE_MAX;
  uint64_t m_wakeups = 0;
};

}  // namespace atl::xs::testing
