// The node operations (read, write, ... set_perms) and transactions, including the
// one EAGAIN retry loop, transact().
#include <utility>

#include "atoll/xenstore.h"

namespace atl::xs {
namespace {

bool valid_path(std::string_view path) {
  return !path.empty() && path.find('\0') == std::string_view::npos;
}

Result<void> discard(const Result<std::string>& reply) {
  if (!reply.ok()) return reply.error();
  return {};
}

}  // namespace

Result<std::string> NodeOps::call(xsd_sockmsg_type type, std::string_view payload) {
  if (m_ended) return Errno::kInval;
  return m_client->request(type, m_tx_id, payload);
}

Result<std::string> NodeOps::read(std::string_view path) {
  if (!valid_path(path)) return Errno::kInval;
  return call(XS_READ, nul_fields({path}));
}

Result<void> NodeOps::write(std::string_view path, std::string_view value) {
  if (!valid_path(path)) return Errno::kInval;
  // ABI: the value is the rest of the payload, not NUL-terminated.
  std::string payload = nul_fields({path});
  payload.append(value);
  return discard(call(XS_WRITE, payload));
}

Result<void> NodeOps::mkdir(std::string_view path) {
  if (!valid_path(path)) return Errno::kInval;
  return discard(call(XS_MKDIR, nul_fields({path})));
}

Result<void> NodeOps::rm(std::string_view path) {
  if (!valid_path(path)) return Errno::kInval;
  return discard(call(XS_RM, nul_fields({path})));
}

Result<std::vector<std::string>> NodeOps::directory(std::string_view path) {
  if (!valid_path(path)) return Errno::kInval;
  auto reply = call(XS_DIRECTORY, nul_fields({path}));
  if (!reply.ok()) return reply.error();
  std::vector<std::string> names;
  for (std::string_view name : split_fields(*reply)) names.emplace_back(name);
  return names;
}

Result<std::vector<Permission>> NodeOps::get_perms(std::string_view path) {
  if (!valid_path(path)) return Errno::kInval;
  auto reply = call(XS_GET_PERMS, nul_fields({path}));
  if (!reply.ok()) return reply.error();
  std::vector<Permission> permissions;
  for (std::string_view field : split_fields(*reply)) {
    auto permission = parse_permission(field);
    if (!permission) return Errno::kIo;
    permissions.push_back(*permission);
  }
  if (permissions.empty()) return Errno::kIo;  // every node has an owner entry
  return permissions;
}

Result<void> NodeOps::set_perms(std::string_view path, const std::vector<Permission>& permissions) {
  if (!valid_path(path) || permissions.empty()) return Errno::kInval;
  std::string payload = nul_fields({path});
  for (const Permission& permission : permissions) payload += nul_fields({format_permission(permission)});
  return discard(call(XS_SET_PERMS, payload));
}

Result<Transaction> Client::transaction_start() {
  // ABI: TRANSACTION_START carries an empty string; the reply is the id in decimal.
  auto reply = request(XS_TRANSACTION_START, 0, nul_fields({""}));
  if (!reply.ok()) return reply.error();
  auto id = parse_decimal(first_field(*reply), UINT32_MAX);
  if (!id || *id == 0) return Errno::kIo;
  return Transaction(this, *id);
}

Transaction::Transaction(Transaction&& other) : NodeOps(other.m_client, other.m_tx_id) {
  m_ended = std::exchange(other.m_ended, true);
}

Transaction::~Transaction() {
  if (!m_ended) (void)end(Outcome::kAbort);
}

Result<void> Transaction::commit() { return end(Outcome::kCommit); }
Result<void> Transaction::abort() { return end(Outcome::kAbort); }

Result<void> Transaction::end(Outcome outcome) {
  if (m_ended) return Errno::kInval;
  // The daemon forgets the transaction whatever it answers, EAGAIN included.
  m_ended = true;
  return discard(m_client->request(XS_TRANSACTION_END, m_tx_id, nul_fields({outcome == Outcome::kCommit ? "T" : "F"})));
}

Result<void> transact(Client& client, const TransactionBody& body, int max_attempts) {
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    auto t = client.transaction_start();
    if (!t.ok()) return t.error();
    Result<void> done = body(*t);
    if (done.ok()) done = t->commit();  // otherwise ~Transaction aborts it
    if (done.ok() || done.error() != Errno::kAgain) return done;
  }
  return Errno::kAgain;
}

}  // namespace atl::xs
