#include "xs_connection.h"

#include <algorithm>

#include "xs_path.h"
#include "xs_wire.h"

namespace atl::hv::xs {

void FlushList::add(Connection* conn) {
  if (std::find(m_conns.begin(), m_conns.end(), conn) == m_conns.end()) m_conns.push_back(conn);
}

void FlushList::forget(Connection* conn) {
  m_conns.erase(std::remove(m_conns.begin(), m_conns.end(), conn), m_conns.end());
}

void FlushList::flush_all() {
  std::vector<Connection*> conns;
  conns.swap(m_conns);
  for (Connection* c : conns) c->flush();
}

Connection::Connection(DomId domid, FlushList& flush_list)
    : m_domid(domid), m_home(domain_path(domid)), m_flush_list(flush_list) {}

Connection::~Connection() { m_flush_list.forget(this); }

void Connection::send(std::string message) {
  if (m_failed) return;
  m_out_bytes += message.size();
  m_out.push_back(std::move(message));
  if (m_out_bytes > m_output_limit) fail();
  m_flush_list.add(this);
}

void Connection::deliver_event(std::string_view path, std::string_view token) {
  // xenstored drops an event it could not send in one message.
  if (path.size() + token.size() + 2 > kPayloadMax) return;
  send(encode_watch_event(path, token));
}

void Connection::consumed(size_t n) {
  m_out_bytes -= n;
  while (n > 0 && !m_out.empty()) {
    size_t left = m_out.front().size() - m_out_offset;
    if (n < left) {
      m_out_offset += n;
      return;
    }
    n -= left;
    m_out.pop_front();
    m_out_offset = 0;
  }
}

void Connection::discard_output() {
  m_out.clear();
  m_out_offset = 0;
  m_out_bytes = 0;
  m_failed = false;
}

Transaction* Connection::find_transaction(uint32_t id) {
  auto it = m_transactions.find(id);
  return it == m_transactions.end() ? nullptr : it->second.get();
}

Transaction& Connection::start_transaction() {
  // Ids are never 0 (that means "no transaction") nor one still open.
  while (m_next_tx == 0 || m_transactions.count(m_next_tx)) ++m_next_tx;
  uint32_t id = m_next_tx++;
  auto tx = std::make_unique<Transaction>(id);
  Transaction& ref = *tx;
  m_transactions.emplace(id, std::move(tx));
  return ref;
}

std::unique_ptr<Transaction> Connection::end_transaction(uint32_t id) {
  auto it = m_transactions.find(id);
  if (it == m_transactions.end()) return nullptr;
  std::unique_ptr<Transaction> tx = std::move(it->second);
  m_transactions.erase(it);
  return tx;
}

}  // namespace atl::hv::xs
