#include "xenstored.h"

#include <charconv>
#include <xen/xen.h>

#include "clock.h"

namespace atl::hv::xs {

// The hypervisor's own connection: its watch events become callbacks (the
// token is the watch id), queued for the loop.
class Xenstored::InternalConnection : public Connection {
 public:
  InternalConnection(Xenstored& owner)
      : Connection(kDom0, owner.m_core.flush_list()), m_owner(owner) {}
  ~InternalConnection() override { m_owner.m_core.disconnect(*this); }

  void deliver_event(std::string_view path, std::string_view token) override {
    uint64_t id = 0;
    std::from_chars(token.data(), token.data() + token.size(), id);
    m_owner.queue_internal_event(id, std::string(path));
  }
  void flush() override { consumed(pending_output()); }

 private:
  Xenstored& m_owner;
};

Xenstored::Xenstored(EventLoop& loop, Options options)
    : m_loop(loop), m_core(options), m_sockets(m_core, loop) {
  m_internal = std::make_unique<InternalConnection>(*this);
  m_core.set_domain_registry(this);
  // What xencommons writes for domain 0 at boot.
  in_transaction([this](Transaction* tx) {
    (void)m_core.write(kDom0, tx, "/local/domain/0/name", "Domain-0");
    (void)m_core.write(kDom0, tx, "/local/domain/0/domid", "0");
  });
}

Xenstored::~Xenstored() {
  if (m_deferred_timer) m_loop.cancel_timer(*m_deferred_timer);
  m_domains.clear();
}

bool Xenstored::listen(const std::string& socket_path, std::string& error) {
  return m_sockets.listen(socket_path, error);
}

void Xenstored::introduce(uint16_t domid, void* ring_page, std::function<void()> notify_guest) {
  if (domid == 0 || domid >= DOMID_FIRST_RESERVED || !ring_page) return;
  auto [it, inserted] = m_domains.try_emplace(domid);
  // A second introduction replaces the ring (the old connection's state goes).
  it->second.ring = std::make_unique<RingConnection>(m_core, DomId(domid), ring_page,
                                                     std::move(notify_guest));
  if (inserted) m_core.fire_special(kIntroduceDomain);
  on_guest_event(domid);  // anything the guest queued before it was introduced
}

void Xenstored::on_guest_event(uint16_t domid) {
  auto it = m_domains.find(domid);
  if (it == m_domains.end() || !it->second.ring) return;
  RingConnection::Poll more = it->second.ring->on_event();
  settle();
  if (more == RingConnection::Poll::kMore) queue_service(domid);
}

void Xenstored::release(uint16_t domid) {
  auto it = m_domains.find(domid);
  if (it == m_domains.end()) return;
  m_domains.erase(it);
  m_core.fire_special(kReleaseDomain);
  settle();
}

bool Xenstored::is_introduced(uint16_t domid) const { return m_domains.count(domid) > 0; }
bool Xenstored::is_introduced(DomId domid) const { return is_introduced(domid.value()); }

Result<void> Xenstored::introduce_from_wire(DomId domid) {
  if (m_domains.try_emplace(domid.value()).second) m_core.fire_special(kIntroduceDomain);
  return {};
}

Result<void> Xenstored::release_from_wire(DomId domid) {
  if (!is_introduced(domid)) return Errno::kNoEnt;
  release(domid.value());
  return {};
}

Result<std::string> Xenstored::read(const std::string& path) { return m_core.read(kDom0, nullptr, path); }

Result<void> Xenstored::write(const std::string& path, const std::string& value) {
  Result<void> r = m_core.write(kDom0, nullptr, path, value);
  settle();
  return r;
}

Result<void> Xenstored::mkdir(const std::string& path) {
  Result<void> r = m_core.mkdir(kDom0, nullptr, path);
  settle();
  return r;
}

Result<void> Xenstored::rm(const std::string& path) {
  Result<void> r = m_core.rm(kDom0, nullptr, path);
  settle();
  return r;
}

Result<void> Xenstored::set_perms(const std::string& path, const std::vector<Perm>& perms) {
  Result<void> r = m_core.set_perms(kDom0, nullptr, path, perms);
  settle();
  return r;
}

Result<void> Xenstored::set_perms(const std::string& path, const std::string& perms) {
  Perms parsed;
  size_t start = 0;
  while (start < perms.size()) {
    size_t end = perms.find(' ', start);
    if (end == std::string::npos) end = perms.size();
    if (end > start) {
      auto p = parse_perm(std::string_view(perms).substr(start, end - start));
      if (!p) return Errno::kInval;
      parsed.push_back(*p);
    }
    start = end + 1;
  }
  return set_perms(path, parsed);
}

Result<std::vector<Perm>> Xenstored::get_perms(const std::string& path) {
  return m_core.get_perms(kDom0, nullptr, path);
}

Result<std::vector<std::string>> Xenstored::directory(const std::string& path) {
  return m_core.directory(kDom0, nullptr, path);
}

uint64_t Xenstored::watch(const std::string& path, WatchCallback cb) {
  uint64_t id = m_next_watch++;
  if (!m_core.add_watch(*m_internal, path, std::to_string(id)).ok()) return 0;
  m_callbacks.emplace(id, std::move(cb));
  m_callback_paths.emplace(id, path);
  queue_internal_event(id, path);  // a watch fires once when set
  return id;
}

void Xenstored::unwatch(uint64_t id) {
  auto it = m_callback_paths.find(id);
  if (it == m_callback_paths.end()) return;
  (void)m_core.remove_watch(*m_internal, it->second, std::to_string(id));
  m_callback_paths.erase(it);
  m_callbacks.erase(id);  // events already queued for it are dropped
}

void Xenstored::queue_internal_event(uint64_t id, std::string path) {
  m_internal_events.emplace_back(id, std::move(path));
  schedule_deferred();
}

void Xenstored::queue_service(uint16_t domid) {
  Domain& d = m_domains[domid];
  if (d.service_queued) return;
  d.service_queued = true;
  m_service.push_back(domid);
  schedule_deferred();
}

void Xenstored::schedule_deferred() {
  if (m_deferred_timer) return;
  m_deferred_timer = m_loop.add_timer(monotonic_ns(), [this] { run_deferred(); });
}

// Watch callbacks, then rings that had more requests than one turn allows.
void Xenstored::run_deferred() {
  m_deferred_timer.reset();
  std::deque<std::pair<uint64_t, std::string>> events;
  events.swap(m_internal_events);
  for (auto& [id, path] : events) {
    auto it = m_callbacks.find(id);
    if (it == m_callbacks.end()) continue;
    WatchCallback cb = it->second;  // the callback may unwatch itself
    cb(path);
  }
  std::deque<uint16_t> service;
  service.swap(m_service);
  for (uint16_t domid : service) {
    auto it = m_domains.find(domid);
    if (it == m_domains.end()) continue;
    it->second.service_queued = false;
    on_guest_event(domid);
  }
  settle();
}

void Xenstored::in_transaction(const std::function<void(Transaction*)>& body) {
  while (true) {
    Transaction& tx = m_internal->start_transaction();
    body(&tx);
    Result<void> r = m_core.end_transaction(*m_internal, tx.id(), true);
    if (r.ok() || r.error() != Errno::kAgain) break;
  }
  settle();
}

}  // namespace atl::hv::xs
