#include "node_store.h"

#include "xs_path.h"

namespace atl::hv::xs {

NodeStore::NodeStore() {
  Perms dom0_only{Perm{kDom0, PermMode::kNone}};
  Node root;
  root.perms = dom0_only;
  root.generation = next_generation();
  m_nodes["/"] = std::move(root);
  count_owner(dom0_only, 1);
  create("/tool", "", dom0_only);
  create("/tool/xenstored", "", dom0_only);
}

const Node* NodeStore::find(const std::string& path) const {
  auto it = m_nodes.find(path);
  return it == m_nodes.end() ? nullptr : &it->second;
}

Node* NodeStore::find_mut(const std::string& path) {
  auto it = m_nodes.find(path);
  return it == m_nodes.end() ? nullptr : &it->second;
}

uint64_t NodeStore::generation(const std::string& path) const {
  const Node* n = find(path);
  return n ? n->generation : kNoGeneration;
}

uint32_t NodeStore::owned_by(DomId domid) const {
  auto it = m_owned.find(domid.value());
  return it == m_owned.end() ? 0 : it->second;
}

void NodeStore::count_owner(const Perms& perms, int delta) {
  if (perms.empty()) return;
  uint32_t& n = m_owned[perms[0].domid.value()];
  n = static_cast<uint32_t>(static_cast<int64_t>(n) + delta);
  if (n == 0) m_owned.erase(perms[0].domid.value());
}

void NodeStore::create(const std::string& path, std::string value, Perms perms) {
  Node* parent = find_mut(std::string(parent_path(path)));
  if (!parent || path == "/") return;  // callers create parents first
  parent->children.emplace(base_name(path));
  parent->generation = next_generation();
  count_owner(perms, 1);
  Node& n = m_nodes[path];
  n.value = std::move(value);
  n.perms = std::move(perms);
  n.generation = next_generation();
}

void NodeStore::set_value(const std::string& path, std::string value) {
  Node* n = find_mut(path);
  n->value = std::move(value);
  n->generation = next_generation();
}

void NodeStore::set_perms(const std::string& path, Perms perms) {
  Node* n = find_mut(path);
  count_owner(n->perms, -1);
  count_owner(perms, 1);
  n->perms = std::move(perms);
  n->generation = next_generation();
}

void NodeStore::remove(const std::string& path) {
  auto it = m_nodes.find(path);
  if (it == m_nodes.end() || path == "/") return;
  count_owner(it->second.perms, -1);
  m_nodes.erase(it);
  if (Node* parent = find_mut(std::string(parent_path(path)))) {
    parent->children.erase(std::string(base_name(path)));
    parent->generation = next_generation();
  }
}

void NodeStore::replace(const std::string& path, std::optional<Node> node) {
  auto it = m_nodes.find(path);
  if (it != m_nodes.end()) {
    count_owner(it->second.perms, -1);
    if (!node) {
      m_nodes.erase(it);
      return;
    }
  }
  if (!node) return;
  count_owner(node->perms, 1);
  node->generation = next_generation();
  m_nodes[path] = std::move(*node);
}

void NodeStore::patch(const std::string& path, NodeHead head, const std::set<std::string>& added,
                      const std::set<std::string>& dropped) {
  Node* n = find_mut(path);
  if (!n) return;  // the transaction saw it, so it exists: only our bug gets here
  count_owner(n->perms, -1);
  count_owner(head.perms, 1);
  n->value = std::move(head.value);
  n->perms = std::move(head.perms);
  for (const std::string& name : dropped) n->children.erase(name);
  n->children.insert(added.begin(), added.end());
  n->generation = next_generation();
}

bool NodeStore::consistent() const {
  std::unordered_map<uint16_t, uint32_t> owned;
  for (const auto& [path, node] : m_nodes) {
    if (node.perms.empty() || !is_valid_node_path(path)) return false;
    owned[node.perms[0].domid.value()]++;
    for (const std::string& child : node.children)
      if (!find(child_path(path, child))) return false;
    if (path == "/") continue;
    const Node* parent = find(std::string(parent_path(path)));
    if (!parent || !parent->children.count(std::string(base_name(path)))) return false;
  }
  return owned == m_owned && find("/") != nullptr;
}

}  // namespace atl::hv::xs
