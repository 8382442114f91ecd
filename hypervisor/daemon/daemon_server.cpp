#include "daemon_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "clock.h"
#include "xl_devices.h"

namespace atl::hv::fleet {

using nlohmann::json;

namespace {

// One request line is small (a create's arguments); anything longer is not ours.
constexpr size_t kMaxRequestBytes = 1 << 20;

json error_reply(const std::string& message) { return json{{"ok", false}, {"error", message}}; }

bool fill_address(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Whether a daemon answers at `path` (a leftover socket file does not).
bool someone_listens(const std::string& path) {
  sockaddr_un addr;
  if (!fill_address(path, addr)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return live;
}

// xenstore-ls's format: one node a line, `name = "value"`, one space of
// indent per level.
void list_tree(xs::Xenstored& store, const std::string& path, int depth, std::string& out) {
  auto children = store.directory(path);
  if (!children.ok()) return;
  for (const std::string& child : children.value()) {
    std::string full = path == "/" ? "/" + child : path + "/" + child;
    auto value = store.read(full);
    out += std::string(static_cast<size_t>(depth), ' ') + child + " = \"" + (value.ok() ? value.value() : "") + "\"\n";
    list_tree(store, full, depth + 1, out);
  }
}

}  // namespace

RunChecked<std::unique_ptr<DaemonServer>> DaemonServer::try_create(EventLoop& loop, Fleet& fleet, const std::string& socket_path,
                                                                  const std::string& xenstore_path,
                                                                  const std::string& trusted_keys) {
  sockaddr_un addr;
  if (!fill_address(socket_path, addr)) return RunError{"the socket path " + socket_path + " is too long"};
  if (someone_listens(socket_path)) return RunError{"a daemon is already listening on " + socket_path};
  unlink(socket_path.c_str());  // a leftover of a daemon that was killed
  std::unique_ptr<DaemonServer> s(new DaemonServer(loop, fleet));
  s->m_path = socket_path;
  s->m_xenstore_path = xenstore_path;
  s->m_trusted_keys = trusted_keys;
  s->m_started_ns = monotonic_ns();
  s->m_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Owner-only from the moment it exists: the umask makes bind() create it 0600.
  mode_t old_mask = umask(0177);
  int bound = bind(s->m_listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old_mask);
  if (bound != 0 || chmod(socket_path.c_str(), 0600) != 0 || listen(s->m_listen_fd, 128) != 0)
    return RunError{"cannot listen on " + socket_path + ": " + strerror(errno)};
  DaemonServer* raw = s.get();
  loop.add_fd(s->m_listen_fd, EPOLLIN, [raw](uint32_t) { raw->accept_clients(); });
  fleet.on_console([raw](uint16_t domid, const char* data, size_t length) { raw->console_output(domid, data, length); });
  fleet.on_gone([raw](uint16_t domid) { raw->domain_gone(domid); });
  return s;
}

DaemonServer::~DaemonServer() {
  m_fleet.on_console(nullptr);
  m_fleet.on_gone(nullptr);
  while (!m_connections.empty()) close_connection(m_connections.begin()->first);
  if (m_listen_fd >= 0) {
    m_loop.remove_fd(m_listen_fd);
    close(m_listen_fd);
    unlink(m_path.c_str());
  }
}

void DaemonServer::accept_clients() {
  for (;;) {
    int fd = accept4(m_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->uid = cred.uid;
    Connection& conn = *c;
    m_connections.emplace(fd, std::move(c));
    m_loop.add_fd(fd, EPOLLIN, [this, fd](uint32_t events) { on_event(fd, events); });
    if (cred.uid != getuid() && cred.uid != 0) {
      // The answer is all a stranger gets; nothing it sends is read.
      conn.mode = Connection::Mode::kClosing;
      reply(conn, error_reply("permission denied: uid " + std::to_string(cred.uid) + " may not use the atoll daemon of uid " +
                              std::to_string(getuid()) + " (only its owner and root may)"));
    }
  }
}

void DaemonServer::on_event(int fd, uint32_t events) {
  auto it = m_connections.find(fd);
  if (it == m_connections.end()) return;
  Connection& c = *it->second;
  if (events & EPOLLOUT) {
    flush(c);
    if (!m_connections.count(fd)) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
}

void DaemonServer::on_readable(Connection& c) {
  int fd = c.fd;
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // The client is done: a console detaches, and whatever is still owed goes out first.
    if (c.mode == Connection::Mode::kClosing || c.out.empty()) { close_connection(fd); return; }
    c.mode = Connection::Mode::kClosing;
    m_loop.modify_fd(fd, EPOLLOUT);
    return;
  }
  switch (c.mode) {
    case Connection::Mode::kClosing: return;  // nothing more is read
    case Connection::Mode::kConsole: {
      if (ManagedDomain* d = m_fleet.find(std::to_string(c.console_domid))) m_fleet.console_input(*d, buf, static_cast<size_t>(n));
      return;
    }
    case Connection::Mode::kRequest: {
      c.in.append(buf, static_cast<size_t>(n));
      size_t eol = c.in.find('\n');
      if (eol == std::string::npos) {
        if (c.in.size() > kMaxRequestBytes) {
          c.mode = Connection::Mode::kClosing;
          reply(c, error_reply("the request is longer than 1 MiB"));
        }
        return;
      }
      std::string line = c.in.substr(0, eol);
      std::string rest = c.in.substr(eol + 1);
      c.in.clear();
      handle_request(c, line);
      // Bytes typed after a console request are the console's first input.
      if (m_connections.count(fd) && c.mode == Connection::Mode::kConsole && !rest.empty())
        if (ManagedDomain* d = m_fleet.find(std::to_string(c.console_domid))) m_fleet.console_input(*d, rest.data(), rest.size());
      return;
    }
  }
}

void DaemonServer::handle_request(Connection& c, const std::string& line) {
  json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  int fd = c.fd;
  json answer = request.is_object() && request.contains("verb") && request["verb"].is_string()
                    ? dispatch(c, request)
                    : error_reply("a request is one JSON object with a \"verb\"");
  if (!m_connections.count(fd)) return;  // it went away while being answered
  if (c.mode != Connection::Mode::kConsole) c.mode = Connection::Mode::kClosing;
  if (!answer.is_null()) reply(c, answer);
}

json DaemonServer::dispatch(Connection& c, const json& request) {
  const std::string verb = request["verb"];
  try {
    if (verb == "create") return create(request);
    if (verb == "list") return list();
    if (verb == "info") return info();
    if (verb == "top") return top();
    if (verb.rfind("xenstore-", 0) == 0) return xenstore(verb, request);
    if (verb == "log") {
      std::string name = request.value("domain", "");
      auto record = m_fleet.record(name);
      if (!record) return error_reply("no domain " + name + " (running or recently ended)");
      return json{{"ok", true}, {"log", record->log}, {"console", record->console}};
    }
    std::string name = request.value("domain", "");
    ManagedDomain* d = m_fleet.find(name);
    if (!d) return error_reply("no domain " + name);
    std::string error;
    if (verb == "shutdown") error = m_fleet.request_shutdown(*d, "poweroff");
    else if (verb == "reboot") error = m_fleet.request_shutdown(*d, "reboot");
    else if (verb == "pause") error = m_fleet.pause(*d);
    else if (verb == "unpause") error = m_fleet.unpause(*d);
    else if (verb == "destroy") m_fleet.destroy(*d, "atoll destroy");
    else if (verb == "console") return attach_console(c, *d);
    else return error_reply("unknown verb " + verb);
    if (!error.empty()) return error_reply(error);
    return json{{"ok", true}};
  } catch (const json::exception& e) {
    return error_reply(std::string("a malformed request: ") + e.what());
  }
}

json DaemonServer::create(const json& request) {
  std::vector<std::string> args = request.at("args").get<std::vector<std::string>>();
  auto options = parse_run_options(args);
  if (!options.ok()) return error_reply(options.error().message);
  if (options.value().help) return error_reply("--help is not a domain");
  if (!options.value().xenstore_socket.empty())
    return error_reply("--xenstore-socket: the daemon's xenstore is shared, at " + m_xenstore_path);
  if (!m_trusted_keys.empty()) {
    // The daemon's policy is not the request's to loosen or to point elsewhere.
    const std::string& asked = options.value().trusted_keys;
    if (!asked.empty() && asked != m_trusted_keys)
      return error_reply("--trusted-keys " + asked + ": this daemon accepts only images signed by a key in " +
                         m_trusted_keys + " (its --trusted-keys)");
    options.value().require_signed = true;
    options.value().trusted_keys = m_trusted_keys;
  }
  auto plan = resolve_run(std::move(options.value()));
  if (!plan.ok()) return error_reply(plan.error().message);
  std::string name = plan.value().config.name;
  auto domid = m_fleet.create(std::move(plan.value()));
  if (!domid.ok()) return error_reply(domid.error().message);
  return json{{"ok", true}, {"domid", domid.value()}, {"name", name}};
}

json DaemonServer::list() const {
  json domains = json::array();
  uint64_t now = monotonic_ns();
  for (const auto& [id, d] : m_fleet.domains()) {
    json entry{{"id", id},
               {"name", d->name()},
               {"memory_mib", d->plan.config.memory >> 20},
               {"state", d->state_text()},
               {"uptime_s", static_cast<double>(now - d->created_ns) / 1e9},
               {"restarts", d->restarts_total}};
    if (!d->last_end.empty()) entry["last_end"] = d->last_end;
    if (d->instance) entry["hypercalls"] = d->instance->domain().hypercalls();
    domains.push_back(entry);
  }
  return json{{"ok", true}, {"domains", domains}};
}

json DaemonServer::info() const {
  return json{{"ok", true},
              {"pid", getpid()},
              {"uid", getuid()},
              {"socket", m_path},
              {"xenstore_socket", m_xenstore_path},
              {"domains", m_fleet.domains().size()},
              {"require_signed", !m_trusted_keys.empty()},
              {"trusted_keys", m_trusted_keys},
              {"uptime_s", static_cast<double>(monotonic_ns() - m_started_ns) / 1e9}};
}

json DaemonServer::top() const {
  json domains = json::array();
  uint64_t now = monotonic_ns();
  for (const auto& [id, d] : m_fleet.domains()) {
    json entry{{"id", id},
               {"name", d->name()},
               {"state", d->state_text()},
               {"memory_bytes", d->plan.config.memory},
               {"cpu_cap", d->plan.config.cpu_cap},
               {"uptime_s", static_cast<double>(now - d->created_ns) / 1e9}};
    json vifs = json::array(), disks = json::array();
    if (d->instance) {
      DomainUsage u = d->instance->domain().usage();
      entry.update(json{{"cpu_ns", u.cpu_ns},
                        {"rss_bytes", u.rss_bytes},
                        {"hypercalls", u.hypercalls},
                        {"events_sent", u.events_sent},
                        {"events_raised", u.events_raised},
                        {"throttled_ns", u.throttled_ns},
                        {"throttled", u.throttled}});
      const auto& nets = d->instance->netbacks();
      for (size_t i = 0; i < nets.size(); ++i) {
        const VifCounters& c = nets[i]->counters();
        vifs.push_back(json{{"name", "vif" + std::to_string(id) + "." + std::to_string(i)},
                            {"tx_packets", c.tx_packets}, {"tx_bytes", c.tx_bytes}, {"tx_errors", c.tx_errors},
                            {"rx_packets", c.rx_packets}, {"rx_bytes", c.rx_bytes}, {"rx_dropped", c.rx_dropped}});
      }
      const auto& blks = d->instance->blkbacks();
      for (size_t i = 0; i < blks.size(); ++i) {
        const DiskCounters& c = blks[i]->counters();
        disks.push_back(json{{"name", vdev_name(static_cast<unsigned>(i))},
                             {"reads", c.reads}, {"writes", c.writes}, {"read_bytes", c.read_bytes},
                             {"write_bytes", c.write_bytes}, {"flushes", c.flushes}, {"errors", c.errors}});
      }
    }
    entry["vifs"] = vifs;
    entry["disks"] = disks;
    domains.push_back(entry);
  }
  return json{{"ok", true}, {"now_ns", now}, {"domains", domains}};
}

json DaemonServer::attach_console(Connection& c, ManagedDomain& d) {
  c.mode = Connection::Mode::kConsole;
  c.console_domid = d.domid;
  m_consoles.emplace(d.domid, c.fd);
  int fd = c.fd;
  reply(c, json{{"ok", true}, {"domid", d.domid}, {"name", d.name()}});
  if (m_connections.count(fd)) send(c, m_fleet.history(d.domid));
  return nullptr;  // answered already: the history must follow the answer
}

json DaemonServer::xenstore(const std::string& verb, const json& request) {
  xs::Xenstored& store = m_fleet.store();
  std::string path = request.value("path", "");
  if (path.empty()) return error_reply(verb + " needs a path");
  if (verb == "xenstore-read") {
    auto v = store.read(path);
    if (!v.ok()) return error_reply("could not read " + path);
    return json{{"ok", true}, {"value", v.value()}};
  }
  if (verb == "xenstore-write") {
    if (!store.write(path, request.value("value", "")).ok()) return error_reply("could not write " + path);
    return json{{"ok", true}};
  }
  if (verb == "xenstore-ls") {
    if (!store.directory(path).ok()) return error_reply("could not list " + path);
    std::string out;
    list_tree(store, path, 0, out);
    return json{{"ok", true}, {"text", out}};
  }
  return error_reply("unknown verb " + verb);
}

void DaemonServer::reply(Connection& c, const json& message) { send(c, message.dump() + "\n"); }

void DaemonServer::send(Connection& c, const std::string& bytes) {
  c.out += bytes;
  flush(c);
}

void DaemonServer::flush(Connection& c) {
  int fd = c.fd;
  while (!c.out.empty()) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) { close_connection(fd); return; }
    c.out.erase(0, static_cast<size_t>(n));
  }
  if (c.out.size() > kMaxPendingOutput) { close_connection(fd); return; }
  if (c.out.empty() && c.mode == Connection::Mode::kClosing) {
    // A request's answer is out: say so with a half-close and wait for the
    // client's end, so the answer is never cut off by a reset.
    shutdown(fd, SHUT_WR);
    m_loop.modify_fd(fd, EPOLLIN);
    return;
  }
  m_loop.modify_fd(fd, c.out.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT);
}

void DaemonServer::close_connection(int fd) {
  auto it = m_connections.find(fd);
  if (it == m_connections.end()) return;
  Connection& c = *it->second;
  if (c.mode == Connection::Mode::kConsole || c.console_domid) {
    auto range = m_consoles.equal_range(c.console_domid);
    for (auto i = range.first; i != range.second; ++i)
      if (i->second == fd) { m_consoles.erase(i); break; }
  }
  m_loop.remove_fd(fd);
  close(fd);
  m_connections.erase(it);
}

void DaemonServer::console_output(uint16_t domid, const char* data, size_t length) {
  std::vector<int> fds;
  auto range = m_consoles.equal_range(domid);
  for (auto i = range.first; i != range.second; ++i) fds.push_back(i->second);
  for (int fd : fds) {
    auto it = m_connections.find(fd);
    if (it != m_connections.end()) send(*it->second, std::string(data, length));
  }
}

// The domain is gone: its consoles get what is owed and then end.
void DaemonServer::domain_gone(uint16_t domid) {
  std::vector<int> fds;
  auto range = m_consoles.equal_range(domid);
  for (auto i = range.first; i != range.second; ++i) fds.push_back(i->second);
  m_consoles.erase(domid);
  for (int fd : fds) {
    auto it = m_connections.find(fd);
    if (it == m_connections.end()) continue;
    it->second->mode = Connection::Mode::kClosing;
    it->second->console_domid = 0;
    flush(*it->second);
  }
}

}  // namespace atl::hv::fleet
