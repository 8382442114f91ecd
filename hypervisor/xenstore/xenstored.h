// The xenstore daemon as the hypervisor uses it: one object on the
// hypervisor's EventLoop serving host tools on a Unix socket, each guest on its
// ring page, and the hypervisor itself (as domain 0) through direct calls.
//
// Everything runs on the loop's thread. Internal watch callbacks never run
// inside a call into this class: they are queued and run from the loop, so a
// callback may call back in freely.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "atoll/result.h"
#include "event_loop.h"
#include "xenstored_core.h"
#include "xs_options.h"
#include "xs_perms.h"
#include "xs_ring.h"
#include "xs_socket.h"

namespace atl::hv::xs {

class Xenstored : private DomainRegistry {
 public:
  using Options = XsOptions;
  using WatchCallback = std::function<void(const std::string& path)>;

  explicit Xenstored(EventLoop& loop, Options options = {});
  ~Xenstored() override;
  Xenstored(const Xenstored&) = delete;
  Xenstored& operator=(const Xenstored&) = delete;

  // Host tools: a Unix socket at `socket_path` (mode 0600).
  bool listen(const std::string& socket_path, std::string& error);

  // A guest's ring: `ring_page` is the hypervisor's mapping of the guest's
  // 4 KiB xenstore page; `notify_guest` raises the guest's event channel.
  // Writes nothing into the tree itself; fires @introduceDomain.
  void introduce(uint16_t domid, void* ring_page, std::function<void()> notify_guest);
  // The guest notified its store event channel.
  void on_guest_event(uint16_t domid);
  // Drops the domain's connection, watches and transactions; fires @releaseDomain.
  void release(uint16_t domid);
  bool is_introduced(uint16_t domid) const;

  // The hypervisor itself, acting as domain 0. Relative paths resolve against
  // /local/domain/0.
  Result<std::string> read(const std::string& path);
  Result<void> write(const std::string& path, const std::string& value);
  Result<void> mkdir(const std::string& path);
  Result<void> rm(const std::string& path);
  Result<void> set_perms(const std::string& path, const std::vector<Perm>& perms);
  // The same with Xen's text form, e.g. "n5 r0" (entries separated by spaces).
  Result<void> set_perms(const std::string& path, const std::string& perms);
  Result<std::vector<Perm>> get_perms(const std::string& path);
  Result<std::vector<std::string>> directory(const std::string& path);

  // A domain-0 watch: `cb` runs from the loop once right away and then for
  // every change at or below `path` (or for a special name). 0 for an invalid path.
  uint64_t watch(const std::string& path, WatchCallback cb);
  void unwatch(uint64_t id);

  // The layout xl writes for a new domain (see domain_layout.cpp for the
  // exact nodes and permissions), in one transaction.
  void create_domain_layout(uint16_t domid, const std::string& name, uint64_t memory_kib);
  // Removes what create_domain_layout and create_device_layout wrote.
  void destroy_domain_layout(uint16_t domid);
  // A split device's two directories as xl lays them out, with domain 0 as the
  // backend: frontend /local/domain/<domid>/device/<type>/<devid> and backend
  // /local/domain/0/backend/<type>/<domid>/<devid>, both in state 1
  // (Initialising), plus the extra keys given.
  void create_device_layout(uint16_t domid, const std::string& type, uint32_t devid,
                            const std::map<std::string, std::string>& backend_keys = {},
                            const std::map<std::string, std::string>& frontend_keys = {});
  void destroy_device_layout(uint16_t domid, const std::string& type, uint32_t devid);

  const Core& core() const { return m_core; }
  size_t socket_connection_count() const { return m_sockets.connection_count(); }

 private:
  class InternalConnection;
  struct Domain {
    std::unique_ptr<RingConnection> ring;  // null for a domain introduced over the wire
    bool service_queued = false;
  };

  // DomainRegistry
  bool is_introduced(DomId domid) const override;
  Result<void> introduce_from_wire(DomId domid) override;
  Result<void> release_from_wire(DomId domid) override;

  void queue_internal_event(uint64_t id, std::string path);
  void queue_service(uint16_t domid);
  void schedule_deferred();
  void run_deferred();
  void settle() { m_core.flush(); }
  // Runs `body` as domain 0 inside one transaction, retrying on conflict.
  void in_transaction(const std::function<void(Transaction*)>& body);

  EventLoop& m_loop;
  Core m_core;
  SocketServer m_sockets;
  std::unique_ptr<InternalConnection> m_internal;
  std::unordered_map<uint16_t, Domain> m_domains;
  std::map<uint64_t, WatchCallback> m_callbacks;
  std::map<uint64_t, std::string> m_callback_paths;  // as registered
  uint64_t m_next_watch = 1;
  std::deque<std::pair<uint64_t, std::string>> m_internal_events;
  std::deque<uint16_t> m_service;
  std::optional<EventLoop::TimerId> m_deferred_timer;
};

}  // namespace atl::hv::xs
