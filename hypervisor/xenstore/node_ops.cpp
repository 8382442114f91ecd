#include "node_ops.h"

#include "xs_path.h"
#include "xs_wire.h"

namespace atl::hv::xs {

namespace {

bool privileged(const Caller& caller) { return is_privileged(caller.domid); }

// Why a missing node is missing, without telling a caller what it may not
// know: ENOENT if its nearest existing ancestor grants any of `need`.
Errno missing_error(NodeView& view, const Caller& caller, std::string_view path, Access need) {
  Access rw = static_cast<Access>(static_cast<uint8_t>(need) & 3);
  std::string p(path);
  while (p != "/") {
    p = std::string(parent_path(p));
    if (const NodeHead* ancestor = view.get(p)) {
      uint8_t have = static_cast<uint8_t>(access_for(caller.domid, ancestor->perms));
      return (have & static_cast<uint8_t>(rw)) ? Errno::kNoEnt : Errno::kAcces;
    }
  }
  return Errno::kNoEnt;
}

// Creates `path` and any missing ancestors; the new nodes inherit the nearest
// existing ancestor's permissions, owned by the caller when it is a guest.
Result<void> create_nodes(NodeView& view, const Caller& caller, const std::string& path,
                          std::string_view value) {
  std::vector<std::string> missing{path};
  const NodeHead* ancestor = nullptr;
  while (!(ancestor = view.get(std::string(parent_path(missing.back())))))
    missing.emplace_back(parent_path(missing.back()));
  if (!privileged(caller) &&
      view.owned_by(caller.domid) + missing.size() > caller.limits.max_nodes_per_domain)
    return kErrQuota;
  Perms perms = ancestor->perms;  // copied: creating may move the ancestor
  if (!privileged(caller)) perms[0].domid = caller.domid;
  for (size_t i = missing.size(); i-- > 0;)
    view.create(missing[i], i == 0 ? std::string(value) : std::string(), perms);
  view.record(Change{path, ChangeKind::kModified, perms, std::nullopt});
  return {};
}

void remove_subtree(NodeView& view, const std::string& path) {
  std::vector<std::string> order;  // pre-order: every node before its descendants
  std::vector<std::string> stack{path};
  while (!stack.empty()) {
    std::string p = std::move(stack.back());
    stack.pop_back();
    for (const std::string& child : view.children(p)) stack.push_back(child_path(p, child));
    order.push_back(std::move(p));
  }
  for (size_t i = order.size(); i-- > 0;) view.remove(order[i]);
}

}  // namespace

Result<const NodeHead*> node_lookup(NodeView& view, const Caller& caller, const std::string& path,
                                Access need) {
  const NodeHead* n = view.get(path);
  if (!n) return missing_error(view, caller, path, need);
  if (!includes(access_for(caller.domid, n->perms), need)) return Errno::kAcces;
  return n;
}

Result<std::string> node_read(NodeView& view, const Caller& caller, const std::string& path) {
  Result<const NodeHead*> n = node_lookup(view, caller, path, Access::kRead);
  if (!n.ok()) return n.error();
  return n.value()->value;
}

Result<void> node_write(NodeView& view, const Caller& caller, const std::string& path,
                        std::string_view value) {
  // ENOSPC, as C xenstored answers a node over its entry size quota.
  if (!privileged(caller) && value.size() > caller.limits.max_value_bytes) return Errno::kNoSpc;
  Result<const NodeHead*> n = node_lookup(view, caller, path, Access::kWrite);
  if (n.ok()) {
    Perms perms = n.value()->perms;
    view.set_value(path, std::string(value));
    view.record(Change{path, ChangeKind::kModified, std::move(perms), std::nullopt});
    return {};
  }
  if (n.error() != Errno::kNoEnt) return n.error();
  return create_nodes(view, caller, path, value);
}

Result<void> node_mkdir(NodeView& view, const Caller& caller, const std::string& path) {
  Result<const NodeHead*> n = node_lookup(view, caller, path, Access::kWrite);
  if (n.ok()) return {};
  if (n.error() != Errno::kNoEnt) return n.error();
  return create_nodes(view, caller, path, "");
}

Result<void> node_rm(NodeView& view, const Caller& caller, const std::string& path) {
  Result<const NodeHead*> n = node_lookup(view, caller, path, Access::kWrite);
  if (!n.ok()) {
    if (n.error() == Errno::kNoEnt && view.get(std::string(parent_path(path)))) return {};
    return n.error();
  }
  if (path == "/") return Errno::kInval;
  view.record(Change{path, ChangeKind::kRemoved, n.value()->perms, std::nullopt});
  remove_subtree(view, path);
  return {};
}

Result<void> check_perms_request(const Caller& caller, const Perms& perms) {
  if (perms.empty()) return Errno::kInval;
  if (!privileged(caller) && perms.size() > caller.limits.max_perms_per_node) return kErrQuota;
  return {};
}

Result<void> node_set_perms(NodeView& view, const Caller& caller, const std::string& path,
                            Perms perms) {
  Result<void> ok = check_perms_request(caller, perms);
  if (!ok.ok()) return ok;
  Result<const NodeHead*> n = node_lookup(view, caller, path, Access::kWrite | Access::kOwner);
  if (!n.ok()) return n.error();
  // A guest may share its node but not give it away.
  if (!privileged(caller) && perms[0].domid != n.value()->perms[0].domid) return Errno::kPerm;
  Perms old = n.value()->perms;
  view.set_perms(path, perms);
  view.record(Change{path, ChangeKind::kModified, std::move(perms), std::move(old)});
  return {};
}

}  // namespace atl::hv::xs
