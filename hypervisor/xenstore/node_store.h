// The committed xenstore tree. Nodes are kept in one hash map keyed by their
// canonical path, so a lookup costs one hash of the path however many domains
// and nodes exist; each node also names its children, so listing a directory
// or removing a subtree touches only that subtree.
//
// Every change to a node (value, permissions, or its list of children) gives
// it a fresh generation from a store-wide counter. Transactions remember the
// generation of each node they looked at and conflict when one has moved: no
// copies of the tree, no scans.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "xs_perms.h"

namespace atl::hv::xs {

// What a node is apart from its children.
struct NodeHead {
  std::string value;
  Perms perms;
  uint64_t generation = 0;
};

struct Node : NodeHead {
  std::set<std::string> children;  // names, not paths; sorted for stable listings
};

// The generation of a node that does not exist.
inline constexpr uint64_t kNoGeneration = 0;

class NodeStore {
 public:
  // Starts with "/", "/tool" and "/tool/xenstored", owned by domain 0 and
  // closed to everyone else, as xenstored does.
  NodeStore();

  const Node* find(const std::string& path) const;
  uint64_t generation(const std::string& path) const;
  size_t size() const { return m_nodes.size(); }
  // How many nodes `domid` owns (entry 0 of their permissions).
  uint32_t owned_by(DomId domid) const;

  // Direct edits (outside transactions). The parent of `path` must exist.
  void create(const std::string& path, std::string value, Perms perms);
  void set_value(const std::string& path, std::string value);
  void set_perms(const std::string& path, Perms perms);
  // Removes one node (its children must already be gone) and its entry in the parent.
  void remove(const std::string& path);

  // A transaction's commit: sets `path` to `node` (or removes it) exactly as
  // given, children list included, or changes an existing node's head and
  // children by name; the transaction keeps the tree consistent.
  void replace(const std::string& path, std::optional<Node> node);
  void patch(const std::string& path, NodeHead head, const std::set<std::string>& added,
             const std::set<std::string>& dropped);

  // Tree invariants (every child exists, every node but "/" is listed by its
  // parent, owner counts add up). For tests and the fuzzer; O(nodes).
  bool consistent() const;

 private:
  Node* find_mut(const std::string& path);
  void count_owner(const Perms& perms, int delta);
  uint64_t next_generation() { return m_next_generation++; }

  std::unordered_map<std::string, Node> m_nodes;
  std::unordered_map<uint16_t, uint32_t> m_owned;
  uint64_t m_next_generation = 1;
};

}  // namespace atl::hv::xs
