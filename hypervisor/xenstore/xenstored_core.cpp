#include "xenstored_core.h"

#include <array>

#include "node_ops.h"
#include "node_view.h"

namespace atl::hv::xs {

Core::Core(const XsOptions& options) : m_options(options) {
  Perms dom0_only{Perm{kDom0, PermMode::kNone}};
  m_special_perms.emplace(kIntroduceDomain, dom0_only);
  m_special_perms.emplace(kReleaseDomain, dom0_only);
}

const Core::HandlerInfo* Core::handler_for(uint32_t type) {
  // Types without a handler (WATCH_EVENT and ERROR travel daemon-to-client
  // only; 20 was XS_RESTRICT) get ENOSYS, as in xenstored.
  static const auto kTable = [] {
    std::array<HandlerInfo, XS_TYPE_COUNT> t{};
    t[XS_CONTROL] = {&Core::do_unsupported, true, false};
    t[XS_DIRECTORY] = {&Core::do_directory, false, false};
    t[XS_READ] = {&Core::do_read, false, false};
    t[XS_GET_PERMS] = {&Core::do_get_perms, false, false};
    t[XS_WATCH] = {&Core::do_watch, false, true};
    t[XS_UNWATCH] = {&Core::do_unwatch, false, true};
    t[XS_TRANSACTION_START] = {&Core::do_transaction_start, false, false};
    t[XS_TRANSACTION_END] = {&Core::do_transaction_end, false, false};
    t[XS_INTRODUCE] = {&Core::do_introduce, true, false};
    t[XS_RELEASE] = {&Core::do_release, true, false};
    t[XS_GET_DOMAIN_PATH] = {&Core::do_get_domain_path, false, false};
    t[XS_WRITE] = {&Core::do_write, false, false};
    t[XS_MKDIR] = {&Core::do_mkdir, false, false};
    t[XS_RM] = {&Core::do_rm, false, false};
    t[XS_SET_PERMS] = {&Core::do_set_perms, false, false};
    t[XS_IS_DOMAIN_INTRODUCED] = {&Core::do_is_domain_introduced, true, false};
    t[XS_RESUME] = {&Core::do_resume, true, false};
    t[XS_SET_TARGET] = {&Core::do_unsupported, true, false};
    t[XS_RESET_WATCHES] = {&Core::do_reset_watches, false, true};
    t[XS_DIRECTORY_PART] = {&Core::do_directory_part, false, false};
    return t;
  }();
  if (type >= kTable.size() || !kTable[type].handler) return nullptr;
  return &kTable[type];
}

void Core::handle(Connection& conn, const Message& msg) {
  const HandlerInfo* info = handler_for(msg.header.type);
  if (!info) return reply(conn, msg, Errno::kNoSys);
  if (info->privileged && !is_privileged(conn.domid())) return reply(conn, msg, Errno::kAcces);
  Transaction* tx = nullptr;
  if (!info->ignores_tx && msg.header.tx_id != 0) {
    tx = conn.find_transaction(msg.header.tx_id);
    if (!tx) return reply(conn, msg, Errno::kNoEnt);
    // A guest's transaction stops growing at its limit; it can still end.
    if (!is_privileged(conn.domid()) && tx->footprint() >= m_options.max_transaction_nodes &&
        msg.type() != MsgType::kTransactionEnd)
      return reply(conn, msg, kErrQuota);
  }
  Request request{conn, msg, tx};
  reply(conn, msg, (this->*info->handler)(request));
  if (m_initial_event) {
    conn.deliver_event(m_initial_event->first, m_initial_event->second);
    m_initial_event.reset();
  }
}

void Core::reply(Connection& conn, const Message& msg, Result<std::string> payload) {
  const MsgHeader& h = msg.header;
  if (payload.ok() && payload.value().size() > kPayloadMax) payload = Errno::kTooBig;
  if (!payload.ok()) return conn.send(encode_error(payload.error(), h.req_id, h.tx_id));
  conn.send(encode_message(msg.type(), h.req_id, h.tx_id, payload.value()));
}

void Core::disconnect(Connection& conn) {
  m_watches.remove_all(conn);
  conn.drop_transactions();
  m_flush_list.forget(&conn);
}

void Core::fire_all(const std::vector<Change>& changes) {
  for (const Change& c : changes) m_watches.fire(c);
}

Perms& Core::special_perms(std::string_view name) { return m_special_perms.find(name)->second; }

void Core::fire_special(std::string_view name) { m_watches.fire_special(name, special_perms(name)); }

Result<std::string> Core::read(DomId caller, Transaction* tx, std::string_view name) {
  auto path = resolve_node_path(name, caller);
  if (!path) return Errno::kInval;
  NodeView view(m_store, tx);
  return node_read(view, Caller{caller, m_options}, path->path);
}

template <typename Op>
Result<void> Core::mutate(DomId caller, Transaction* tx, std::string_view name, Op op) {
  auto path = resolve_node_path(name, caller);
  if (!path) return Errno::kInval;
  NodeView view(m_store, tx);
  Result<void> r = op(view, Caller{caller, m_options}, path->path);
  fire_all(view.take_changes());
  return r;
}

Result<void> Core::write(DomId caller, Transaction* tx, std::string_view name, std::string_view value) {
  return mutate(caller, tx, name, [value](NodeView& view, const Caller& who, const std::string& path) {
    return node_write(view, who, path, value);
  });
}

Result<void> Core::mkdir(DomId caller, Transaction* tx, std::string_view name) {
  return mutate(caller, tx, name, [](NodeView& view, const Caller& who, const std::string& path) {
    return node_mkdir(view, who, path);
  });
}

Result<void> Core::rm(DomId caller, Transaction* tx, std::string_view name) {
  return mutate(caller, tx, name, [](NodeView& view, const Caller& who, const std::string& path) {
    return node_rm(view, who, path);
  });
}

Result<std::vector<std::string>> Core::directory(DomId caller, Transaction* tx, std::string_view name) {
  auto path = resolve_node_path(name, caller);
  if (!path) return Errno::kInval;
  NodeView view(m_store, tx);
  Result<const NodeHead*> n = node_lookup(view, Caller{caller, m_options}, path->path, Access::kRead);
  if (!n.ok()) return n.error();
  return view.children(path->path);
}

Result<Perms> Core::get_perms(DomId caller, Transaction* tx, std::string_view name) {
  auto path = resolve_watch_path(name, caller);
  if (!path) return Errno::kInval;
  if (is_special_path(path->path)) {
    const Perms& perms = special_perms(path->path);
    if (!includes(access_for(caller, perms), Access::kRead)) return Errno::kAcces;
    return perms;
  }
  NodeView view(m_store, tx);
  Result<const NodeHead*> n = node_lookup(view, Caller{caller, m_options}, path->path, Access::kRead);
  if (!n.ok()) return n.error();
  return n.value()->perms;
}

Result<void> Core::set_perms(DomId caller, Transaction* tx, std::string_view name, Perms perms) {
  auto path = resolve_watch_path(name, caller);
  if (!path) return Errno::kInval;
  Caller who{caller, m_options};
  if (is_special_path(path->path)) {
    Result<void> ok = check_perms_request(who, perms);
    if (!ok.ok()) return ok;
    Perms& current = special_perms(path->path);
    if (!includes(access_for(caller, current), Access::kOwner)) return Errno::kAcces;
    current = std::move(perms);
    return {};
  }
  NodeView view(m_store, tx);
  Result<void> r = node_set_perms(view, who, path->path, std::move(perms));
  fire_all(view.take_changes());
  return r;
}

Result<void> Core::end_transaction(Connection& conn, uint32_t tx_id, bool commit) {
  std::unique_ptr<Transaction> tx = conn.end_transaction(tx_id);
  if (!tx) return Errno::kNoEnt;
  if (!commit) return {};
  Result<void> ok = tx->check(m_store, conn.domid(), m_options.max_nodes_per_domain);
  if (!ok.ok()) return ok;
  tx->apply(m_store);
  fire_all(tx->changes());
  return {};
}

Result<ResolvedPath> Core::add_watch(Connection& conn, std::string_view name, std::string_view token) {
  auto path = resolve_watch_path(name, conn.domid());
  if (!path) return Errno::kInval;
  uint32_t max = is_privileged(conn.domid()) ? 0 : m_options.max_watches_per_domain;
  Result<void> ok = m_watches.add(conn, *path, token, max);
  if (!ok.ok()) return ok.error();
  return *path;
}

Result<void> Core::remove_watch(Connection& conn, std::string_view name, std::string_view token) {
  auto path = resolve_watch_path(name, conn.domid());
  if (!path) return Errno::kInval;
  return m_watches.remove(conn, path->path, token);
}

}  // namespace atl::hv::xs
