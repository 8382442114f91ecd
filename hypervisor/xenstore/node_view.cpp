#include "node_view.h"

#include <utility>

#include "xs_path.h"

namespace atl::hv::xs {

// A committed node, its generation remembered by the transaction.
const Node* NodeView::committed(const std::string& path) {
  const Node* n = m_store.find(path);
  if (m_tx) m_tx->saw(path, n ? n->generation : kNoGeneration);
  return n;
}

const NodeHead* NodeView::get(const std::string& path) {
  if (m_tx)
    if (const Transaction::Edit* e = std::as_const(*m_tx).find(path)) return e->removed ? nullptr : &e->head;
  return committed(path);
}

std::vector<std::string> NodeView::children(const std::string& path) {
  const Transaction::Edit* e = m_tx ? std::as_const(*m_tx).find(path) : nullptr;
  if (e && e->removed) return {};
  std::set<std::string> names;
  if (!e || !e->fresh)
    if (const Node* n = committed(path)) names = n->children;
  if (e) {
    for (const std::string& d : e->dropped) names.erase(d);
    names.insert(e->added.begin(), e->added.end());
  }
  return std::vector<std::string>(names.begin(), names.end());
}

uint32_t NodeView::owned_by(DomId domid) const {
  int64_t n = m_store.owned_by(domid) + (m_tx ? m_tx->owned_delta(domid) : 0);
  return n < 0 ? 0 : static_cast<uint32_t>(n);
}

// Only called for nodes get() has just found, so `path` exists in this view.
Transaction::Edit& NodeView::edit(const std::string& path) {
  if (Transaction::Edit* e = m_tx->find(path); e && !e->removed) return *e;
  static const Node kMissing{};
  const Node* base = m_store.find(path);
  return m_tx->edit(path, base ? *base : kMissing);
}

void NodeView::create(const std::string& path, std::string value, Perms perms) {
  if (!m_tx) return m_store.create(path, std::move(value), std::move(perms));
  Transaction::Edit& parent = edit(std::string(parent_path(path)));
  std::string name(base_name(path));
  parent.dropped.erase(name);
  parent.added.insert(std::move(name));
  m_tx->add_owned(perms[0].domid, 1);
  // A node removed and created again in one transaction was seen when removed.
  m_tx->saw(path, m_store.generation(path));
  m_tx->create(path, NodeHead{std::move(value), std::move(perms), kNoGeneration});
}

void NodeView::set_value(const std::string& path, std::string value) {
  if (!m_tx) return m_store.set_value(path, std::move(value));
  edit(path).head.value = std::move(value);
}

void NodeView::set_perms(const std::string& path, Perms perms) {
  if (!m_tx) return m_store.set_perms(path, std::move(perms));
  Transaction::Edit& e = edit(path);
  m_tx->add_owned(e.head.perms[0].domid, -1);
  m_tx->add_owned(perms[0].domid, 1);
  e.head.perms = std::move(perms);
}

void NodeView::remove(const std::string& path) {
  if (!m_tx) return m_store.remove(path);
  if (const NodeHead* n = get(path)) m_tx->add_owned(n->perms[0].domid, -1);
  m_tx->erase(path);
  Transaction::Edit& parent = edit(std::string(parent_path(path)));
  std::string name(base_name(path));
  parent.added.erase(name);
  parent.dropped.insert(std::move(name));
}

void NodeView::record(Change change) {
  if (m_tx) m_tx->record(std::move(change));
  else m_changes.push_back(std::move(change));
}

}  // namespace atl::hv::xs
