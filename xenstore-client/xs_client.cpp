// The xenstore client core: request ids, reply routing, watch dispatch. Shared by
// the guest and the native unit tests; everything below the byte stream is the
// Transport's business.
#include "atoll/xenstore.h"

#include <utility>

namespace atl::xs {

Result<void> Client::pump() {
  if (m_broken) return Errno::kIo;
  // A few ring-fulls at most per call, so a daemon that never stops talking
  // cannot keep this thread from returning to its caller.
  constexpr int kMaxChunks = 8;
  char chunk[XENSTORE_RING_SIZE];
  bool routed = false;
  for (int i = 0; i < kMaxChunks; ++i) {
    size_t n = m_transport.read(chunk, sizeof chunk);
    if (n == 0) break;
    m_parser.feed(chunk, n);
    while (auto message = m_parser.next()) {
      route(std::move(*message));
      routed = true;
    }
    if (m_parser.failed()) {
      fail_all();
      routed = true;
      break;
    }
  }
  if (routed) m_transport.wake_waiters();
  if (m_broken) return Errno::kIo;
  return {};
}

void Client::route(Message&& message) {
  const xsd_sockmsg& header = message.header;
  if (header.type == XS_WATCH_EVENT) {
    auto event = parse_watch_event(message.payload);
    if (!event) {
      ++m_stats.malformed_events;
      return;
    }
    m_events.push_back(std::move(*event));
    return;
  }
  auto it = m_pending.find(header.req_id);
  if (it == m_pending.end() || it->second.done) {
    ++m_stats.unmatched_replies;
    return;
  }
  Pending& pending = it->second;
  pending.done = true;
  if (header.type == XS_ERROR)
    pending.reply = errno_from_name(message.payload);
  else if (header.type != pending.type)
    pending.reply = Errno::kIo;  // the daemon answered some other question
  else
    pending.reply = std::move(message.payload);
}

void Client::fail_all() {
  m_broken = true;
  for (auto& [id, pending] : m_pending) {
    if (pending.done) continue;
    pending.done = true;
    pending.reply = Errno::kIo;
  }
}

Result<void> Client::wait_for(const std::function<bool()>& done) {
  for (;;) {
    (void)pump();
    if (done()) return {};
    if (m_broken) return Errno::kIo;
    bool woke = m_transport.wait([&] { return done() || m_broken || m_transport.readable(); });
    if (!woke) return Errno::kIo;
  }
}

uint32_t Client::allocate_req_id() {
  // 0 is what xenstored puts in watch events; skip it and any id still in use.
  do ++m_last_req_id;
  while (m_last_req_id == 0 || m_pending.count(m_last_req_id));
  return m_last_req_id;
}

// One whole message at a time: a message that does not fit the ring goes in
// pieces, and another thread's message must not land between them.
Result<void> Client::send_bytes(std::string_view bytes) {
  if (auto turn = wait_for([&] { return !m_sending; }); !turn.ok()) return turn;
  m_sending = true;
  Result<void> result;
  size_t sent = 0;
  for (;;) {
    sent += m_transport.write(bytes.data() + sent, bytes.size() - sent);
    if (sent == bytes.size()) break;
    result = wait_for([&] { return m_transport.writable(); });
    if (!result.ok()) {
      // Half a message on the wire: nothing after it would parse.
      if (sent > 0) fail_all();
      break;
    }
  }
  m_sending = false;
  m_transport.wake_waiters();
  return result;
}

Result<uint32_t> Client::send_request(xsd_sockmsg_type type, uint32_t tx_id, std::string_view payload) {
  if (payload.size() > kMaxPayload) return Errno::kTooBig;
  if (m_broken) return Errno::kIo;
  uint32_t id = allocate_req_id();
  // Registered before sending: the reply can arrive while we wait for ring space.
  m_pending.emplace(id, Pending{type});
  auto sent = send_bytes(encode(type, id, tx_id, payload));
  if (!sent.ok()) {
    m_pending.erase(id);
    return sent.error();
  }
  return id;
}

Result<std::string> Client::await_reply(uint32_t req_id) {
  auto it = m_pending.find(req_id);
  if (it == m_pending.end()) return Errno::kInval;
  auto waited = wait_for([&] { return it->second.done; });
  Result<std::string> reply = std::move(it->second.reply);
  m_pending.erase(it);
  if (!waited.ok()) return waited.error();
  return reply;
}

Result<std::string> Client::request(xsd_sockmsg_type type, uint32_t tx_id, std::string_view payload) {
  auto id = send_request(type, tx_id, payload);
  if (!id.ok()) return id.error();
  return await_reply(*id);
}

size_t Client::dispatch_watch_events() {
  size_t ran = 0;
  while (!m_events.empty()) {
    WatchEvent event = std::move(m_events.front());
    m_events.pop_front();
    auto it = m_watches.find(event.token);
    if (it == m_watches.end()) {
      ++m_stats.stale_events;
      continue;
    }
    // A copy, so the callback survives its own watch being removed while it runs.
    std::shared_ptr<WatchEntry> entry = it->second;
    entry->callback(event.path);
    ++ran;
  }
  // A callback may have changed what other threads wait for.
  if (ran > 0) m_transport.wake_waiters();
  return ran;
}

bool Client::wait_and_dispatch() {
  if (!wait_for([&] { return !m_events.empty(); }).ok()) return false;
  dispatch_watch_events();
  return true;
}

Result<std::string> Client::get_domain_path(DomId domid) {
  auto reply = request(XS_GET_DOMAIN_PATH, 0, nul_fields({std::to_string(domid.value())}));
  if (!reply.ok()) return reply.error();
  return std::string(first_field(*reply));
}

Result<Watch> Client::watch(std::string_view path, WatchCallback callback) {
  if (path.empty() || path.find('\0') != std::string_view::npos || !callback) return Errno::kInval;
  std::string token = "atl/" + std::to_string(++m_last_token);
  // Registered first: the daemon's initial event may be read before our reply.
  m_watches.emplace(token, std::make_shared<WatchEntry>(WatchEntry{std::string(path), std::move(callback)}));
  auto reply = request(XS_WATCH, 0, nul_fields({path, token}));
  if (!reply.ok()) {
    m_watches.erase(token);
    return reply.error();
  }
  return Watch(this, std::move(token));
}

Result<void> Client::unwatch(const std::string& token) {
  auto it = m_watches.find(token);
  if (it == m_watches.end()) return Errno::kNoEnt;
  std::string path = std::move(it->second->path);
  // Gone from the table first: events already queued for it are dropped.
  m_watches.erase(it);
  auto reply = request(XS_UNWATCH, 0, nul_fields({path, token}));
  if (!reply.ok()) return reply.error();
  return {};
}

Watch::Watch(Watch&& other) noexcept
    : m_client(std::exchange(other.m_client, nullptr)), m_token(std::move(other.m_token)) {}

Watch& Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    (void)unwatch();
    m_client = std::exchange(other.m_client, nullptr);
    m_token = std::move(other.m_token);
  }
  return *this;
}

Watch::~Watch() { (void)unwatch(); }

Result<void> Watch::unwatch() {
  Client* client = std::exchange(m_client, nullptr);
  if (!client) return {};
  return client->unwatch(m_token);
}

}  // namespace atl::xs
