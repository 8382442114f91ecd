// What a request sees of the tree: the committed store, or a transaction's
// view of it (its own edits over the committed nodes, each committed node's
// generation remembered on first sight). The node operations are written once
// against this and work the same inside and outside transactions.
#pragma once

#include <string>
#include <vector>

#include "node_store.h"
#include "xenstored_transaction.h"

namespace atl::hv::xs {

class NodeView {
 public:
  // `tx` may be null: then edits go straight to the store and changes are
  // collected for the caller to fire.
  NodeView(NodeStore& store, Transaction* tx) : m_store(store), m_tx(tx) {}

  // The node's value, permissions and generation; nullptr when it does not exist.
  const NodeHead* get(const std::string& path);
  // Its children's names, sorted (empty for a missing node).
  std::vector<std::string> children(const std::string& path);
  uint32_t owned_by(DomId domid) const;

  // The parent of `path` must exist (in this view).
  void create(const std::string& path, std::string value, Perms perms);
  void set_value(const std::string& path, std::string value);
  void set_perms(const std::string& path, Perms perms);
  // Removes one node and its entry in its parent; its children first.
  void remove(const std::string& path);

  void record(Change change);
  // Changes made outside a transaction, in order (inside one they go to it).
  std::vector<Change> take_changes() { return std::move(m_changes); }

 private:
  // The transaction's edit of a node that exists in this view.
  Transaction::Edit& edit(const std::string& path);
  const Node* committed(const std::string& path);

  NodeStore& m_store;
  Transaction* m_tx;
  std::vector<Change> m_changes;
};

}  // namespace atl::hv::xs
