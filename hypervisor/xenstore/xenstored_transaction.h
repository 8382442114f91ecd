// A xenstore transaction: its edits, per node, and the generation of every
// committed node it looked at. Reads inside the transaction see its own
// writes; nobody else sees them until it commits. Commit fails with EAGAIN
// when any node it looked at has changed since (its generation moved, or it
// appeared or vanished): no tree copies, no scans. An edit copies a node's
// value and permissions but records children added and dropped by name, so
// creating a domain under a /local/domain of thousands costs no more than
// under one of ten.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "atoll/result.h"
#include "node_store.h"

namespace atl::hv::xs {

// One change watches hear about. A removal covers the whole subtree.
enum class ChangeKind : uint8_t { kModified, kRemoved };
struct Change {
  std::string path;
  ChangeKind kind;
  Perms perms;                     // who may hear of it: the node's permissions
  std::optional<Perms> old_perms;  // SET_PERMS: domains that lost access hear too
};

class Transaction {
 public:
  explicit Transaction(uint32_t id) : m_id(id) {}
  uint32_t id() const { return m_id; }

  // One node as this transaction leaves it.
  struct Edit {
    NodeHead head;
    bool removed = false;
    // Created here (possibly after removing the committed one): `added` is
    // then its whole list of children.
    bool fresh = false;
    std::set<std::string> added;    // children, by name, beyond the committed ones
    std::set<std::string> dropped;  // committed children gone
  };

  // nullptr when this transaction has not changed `path`.
  const Edit* find(const std::string& path) const;
  Edit* find(const std::string& path);
  // The edit of an existing node, started from `base` on first touch.
  Edit& edit(const std::string& path, const Node& base);
  void create(const std::string& path, NodeHead head);
  void erase(const std::string& path);
  // Remembers the committed generation of `path` the first time it is seen.
  void saw(const std::string& path, uint64_t generation) { m_seen.emplace(path, generation); }

  void add_owned(DomId domid, int64_t delta) { m_owned_delta[domid.value()] += delta; }
  int64_t owned_delta(DomId domid) const;
  void record(Change change) { m_changes.push_back(std::move(change)); }
  const std::vector<Change>& changes() const { return m_changes; }
  // How many nodes it holds state for (looked at or changed).
  size_t footprint() const { return m_seen.size() + m_edits.size(); }

  // EAGAIN when a node it looked at has moved on; EQUOTA when committing would
  // take `domid` over `max_nodes` (checked for unprivileged domains only).
  Result<void> check(const NodeStore& store, DomId domid, uint32_t max_nodes) const;
  // Writes the changed nodes into the store. check() first.
  void apply(NodeStore& store);

 private:
  uint32_t m_id;
  std::unordered_map<std::string, Edit> m_edits;
  std::unordered_map<std::string, uint64_t> m_seen;
  std::unordered_map<uint16_t, int64_t> m_owned_delta;
  std::vector<Change> m_changes;
};

}  // namespace atl::hv::xs
