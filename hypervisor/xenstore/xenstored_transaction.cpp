#include "xenstored_transaction.h"

#include "xs_wire.h"

namespace atl::hv::xs {

const Transaction::Edit* Transaction::find(const std::string& path) const {
  auto it = m_edits.find(path);
  return it == m_edits.end() ? nullptr : &it->second;
}

Transaction::Edit* Transaction::find(const std::string& path) {
  auto it = m_edits.find(path);
  return it == m_edits.end() ? nullptr : &it->second;
}

Transaction::Edit& Transaction::edit(const std::string& path, const Node& base) {
  auto [it, first] = m_edits.try_emplace(path);
  if (first) {
    saw(path, base.generation);
    it->second.head = base;  // the head only: children stay where they are
  }
  return it->second;
}

void Transaction::create(const std::string& path, NodeHead head) {
  Edit& e = m_edits[path];
  e = Edit{std::move(head), false, true, {}, {}};
}

void Transaction::erase(const std::string& path) {
  Edit& e = m_edits[path];
  e = Edit{};
  e.removed = true;
}

int64_t Transaction::owned_delta(DomId domid) const {
  auto it = m_owned_delta.find(domid.value());
  return it == m_owned_delta.end() ? 0 : it->second;
}

Result<void> Transaction::check(const NodeStore& store, DomId domid, uint32_t max_nodes) const {
  for (const auto& [path, generation] : m_seen)
    if (store.generation(path) != generation) return Errno::kAgain;
  int64_t delta = owned_delta(domid);
  if (!is_privileged(domid) && delta > 0 && store.owned_by(domid) + delta > max_nodes)
    return kErrQuota;
  return {};
}

void Transaction::apply(NodeStore& store) {
  for (auto& [path, e] : m_edits) {
    if (e.removed) {
      store.replace(path, std::nullopt);
    } else if (e.fresh) {
      Node n;
      static_cast<NodeHead&>(n) = std::move(e.head);
      n.children = std::move(e.added);
      store.replace(path, std::move(n));
    } else {
      store.patch(path, std::move(e.head), e.added, e.dropped);
    }
  }
  m_edits.clear();
}

}  // namespace atl::hv::xs
