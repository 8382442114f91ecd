#include "fake_xenstored.h"

#include <string.h>

#include <algorithm>

namespace atl::xs::testing {
namespace {

std::vector<std::string> split_nuls(const std::string& payload) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (start < payload.size()) {
    size_t nul = payload.find('\0', start);
    if (nul == std::string::npos) nul = payload.size();
    fields.push_back(payload.substr(start, nul - start));
    start = nul + 1;
  }
  return fields;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool is_under(const std::string& path, const std::string& top) {
  if (top == "/") return true;
  return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 && path[top.size()] == '/');
}

}  // namespace

FakeXenstored::FakeXenstored(uint16_t domid) : m_domid(domid) {
  m_nodes["/"] = "";
  m_nodes["/local"] = "";
  m_nodes["/local/domain"] = "";
  m_nodes[home()] = "";
}

std::string FakeXenstored::home() const { return "/local/domain/" + std::to_string(m_domid); }

std::string FakeXenstored::absolute(const std::string& path) const {
  return !path.empty() && path[0] == '/' ? path : home() + "/" + path;
}

size_t FakeXenstored::write(const void* data, size_t length) {
  length = std::min({length, m_write_chunk, m_write_budget});
  if (m_write_budget != SIZE_MAX) m_write_budget -= length;
  m_in.append(static_cast<const char*>(data), length);
  for (;;) {
    if (m_in.size() < 16) break;
    xsd_sockmsg header;
    memcpy(&header, m_in.data(), sizeof header);
    if (m_in.size() < 16 + header.len) break;
    Request request{header.type, header.req_id, header.tx_id, {}, m_in.substr(16, header.len)};
    request.fields = split_nuls(request.payload);
    m_in.erase(0, 16 + header.len);
    m_log.push_back(request);
    if (m_defer) {
      m_deferred.push_back(request);
      m_answered.push_back(false);
    } else {
      handle(request);
    }
  }
  return length;
}

size_t FakeXenstored::read(void* data, size_t length) {
  size_t n = std::min(length, m_out.size() - m_out_offset);
  memcpy(data, m_out.data() + m_out_offset, n);
  m_out_offset += n;
  if (m_out_offset == m_out.size()) {
    m_out.clear();
    m_out_offset = 0;
  }
  return n;
}

bool FakeXenstored::wait(const std::function<bool()>& ready) {
  while (!ready()) {
    if (m_wait_actions.empty()) return false;
    auto action = std::move(m_wait_actions.front());
    m_wait_actions.pop_front();
    action();
  }
  return true;
}

void FakeXenstored::answer(size_t index) {
  if (index >= m_deferred.size() || m_answered[index]) return;
  m_answered[index] = true;
  handle(m_deferred[index]);
}

void FakeXenstored::send_raw(const std::string& bytes) { m_out += bytes; }

void FakeXenstored::send_message(uint32_t type, uint32_t req_id, uint32_t tx_id, const std::string& payload) {
  xsd_sockmsg header{type, req_id, tx_id, static_cast<uint32_t>(payload.size())};
  m_out.append(reinterpret_cast<const char*>(&header), sizeof header);
  m_out += payload;
}

void FakeXenstored::reply(const Request& request, uint32_t type, const std::string& payload) {
  send_message(type, request.req_id, request.tx_id, payload);
}

void FakeXenstored::error(const Request& request, const std::string& name) {
  reply(request, XS_ERROR, name + std::string(1, '\0'));
}

size_t FakeXenstored::count(uint32_t type) const {
  size_t n = 0;
  for (const auto& request : m_log) n += request.type == type;
  return n;
}

std::optional<std::string> FakeXenstored::lookup(const std::string& path, const Tx* tx) const {
  if (tx) {
    auto w = tx->writes.find(path);
    if (w != tx->writes.end()) return w->second;
  }
  auto it = m_nodes.find(path);
  if (it == m_nodes.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> FakeXenstored::store_read(const std::string& path) const {
  return lookup(absolute(path), nullptr);
}

void FakeXenstored::store_write(const std::string& path, const std::string& value) {
  apply_write(absolute(path), value, false);
}

void FakeXenstored::apply_write(const std::string& path, const std::string& value, bool from_client) {
  for (std::string p = parent_of(path); !m_nodes.count(p); p = parent_of(p)) m_nodes[p] = "";
  m_nodes[path] = value;
  fire(path);
  if (from_client && on_client_write) on_client_write(path, value);
}

// Removing a node removes, and fires watches for, everything below it.
void FakeXenstored::store_rm(const std::string& relative_or_absolute) {
  std::string path = absolute(relative_or_absolute);
  std::vector<std::string> gone;
  for (const auto& [p, value] : m_nodes)
    if (is_under(p, path)) gone.push_back(p);
  for (const auto& p : gone) m_nodes.erase(p);
  for (const auto& p : gone) fire(p);
}

std::string FakeXenstored::relative_for(const WatchReg& watch, const std::string& path) const {
  if (!watch.path.empty() && watch.path[0] == '/') return path;
  return path.substr(home().size() + 1);
}

void FakeXenstored::fire(const std::string& path) {
  for (const auto& watch : m_watches)
    if (is_under(path, absolute(watch.path)))
      send_message(XS_WATCH_EVENT, 0, 0, relative_for(watch, path) + '\0' + watch.token + '\0');
}

void FakeXenstored::commit(const Request& request, Tx& tx) {
  std::vector<std::pair<std::string, std::optional<std::string>>> writes(tx.writes.begin(), tx.writes.end());
  m_transactions.erase(request.tx_id);
  reply(request, XS_TRANSACTION_END, std::string("OK") + '\0');
  for (const auto& [path, value] : writes) {
    if (value) apply_write(path, *value, true);
    else store_rm(path);
  }
}

void FakeXenstored::handle(const Request& request) {
  const auto& f = request.fields;
  std::string path = f.empty() ? "" : absolute(f[0]);
  if (auto e = m_path_errors.find(path); !f.empty() && e != m_path_errors.end()) return error(request, e->second);
  Tx* tx = nullptr;
  if (request.tx_id != 0) {
    auto it = m_transactions.find(request.tx_id);
    if (it == m_transactions.end()) return error(request, "ENOENT");
    tx = &it->second;
  }
  const std::string ok = std::string("OK") + '\0';
  switch (request.type) {
    case XS_READ: {
      auto value = lookup(path, tx);
      if (!value) return error(request, "ENOENT");
      return reply(request, XS_READ, *value);
    }
    case XS_WRITE: {
      size_t nul = request.payload.find('\0');
      if (nul == std::string::npos) return error(request, "EINVAL");
      std::string value = request.payload.substr(nul + 1);
      if (tx) {
        tx->writes[path] = value;
        return reply(request, XS_WRITE, ok);
      }
      reply(request, XS_WRITE, ok);
      return apply_write(path, value, true);
    }
    case XS_MKDIR:
      if (!lookup(path, tx)) {
        reply(request, XS_MKDIR, ok);
        return apply_write(path, "", true);
      }
      return reply(request, XS_MKDIR, ok);
    case XS_RM:
      if (!m_nodes.count(path)) {
        if (!m_nodes.count(parent_of(path))) return error(request, "ENOENT");
        return reply(request, XS_RM, ok);
      }
      reply(request, XS_RM, ok);
      return store_rm(path);
    case XS_DIRECTORY: {
      if (!m_nodes.count(path)) return error(request, "ENOENT");
      std::string prefix = path == "/" ? "/" : path + "/";
      std::string names;
      for (const auto& [p, value] : m_nodes)
        if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0 &&
            p.find('/', prefix.size()) == std::string::npos)
          names += p.substr(prefix.size()) + '\0';
      return reply(request, XS_DIRECTORY, names);
    }
    case XS_GET_PERMS:
      if (!m_nodes.count(path)) return error(request, "ENOENT");
      return reply(request, XS_GET_PERMS, std::string("b") + std::to_string(m_domid) + '\0' + "r0" + '\0');
    case XS_SET_PERMS:
      if (!m_nodes.count(path)) return error(request, "ENOENT");
      if (f.size() < 2) return error(request, "EINVAL");
      return reply(request, XS_SET_PERMS, ok);
    case XS_WATCH:
      if (f.size() < 2) return error(request, "EINVAL");
      m_watches.push_back({f[0], f[1]});
      reply(request, XS_WATCH, ok);
      // Xen fires every new watch once, with the watched path.
      return send_message(XS_WATCH_EVENT, 0, 0, f[0] + '\0' + f[1] + '\0');
    case XS_UNWATCH:
      for (auto it = m_watches.begin(); it != m_watches.end(); ++it) {
        if (f.size() >= 2 && it->path == f[0] && it->token == f[1]) {
          m_watches.erase(it);
          return reply(request, XS_UNWATCH, ok);
        }
      }
      return error(request, "ENOENT");
    case XS_TRANSACTION_START: {
      uint32_t id = m_next_tx++;
      m_transactions[id] = Tx{};
      return reply(request, XS_TRANSACTION_START, std::to_string(id) + '\0');
    }
    case XS_TRANSACTION_END: {
      if (!tx) return error(request, "EINVAL");
      if (f.empty() || f[0] != "T") {
        m_transactions.erase(request.tx_id);
        return reply(request, XS_TRANSACTION_END, ok);
      }
      if (m_commit_failures > 0) {
        --m_commit_failures;
        m_transactions.erase(request.tx_id);
        return error(request, "EAGAIN");
      }
      return commit(request, *tx);
    }
    case XS_GET_DOMAIN_PATH:
      if (f.empty()) return error(request, "EINVAL");
      return reply(request, XS_GET_DOMAIN_PATH, "/local/domain/" + f[0] + '\0');
    default:
      return error(request, "ENOSYS");
  }
}

}  // namespace atl::xs::testing
