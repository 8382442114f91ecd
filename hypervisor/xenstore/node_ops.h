// The node operations behind READ, WRITE, MKDIR, RM, DIRECTORY, GET_PERMS and
// SET_PERMS, with xenstored's rules: permission checks that do not leak whether
// a node exists (a missing node is ENOENT only to callers its nearest existing
// ancestor would let in, EACCES otherwise), intermediate nodes created on
// write, new nodes inheriting their parent's permissions (owned by the creator
// when it is a guest), and per-domain quotas. Paths are canonical here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/result.h"
#include "node_view.h"
#include "xs_options.h"

namespace atl::hv::xs {

struct Caller {
  DomId domid;
  const XsOptions& limits;
};

Result<std::string> node_read(NodeView& view, const Caller& caller, const std::string& path);
Result<void> node_write(NodeView& view, const Caller& caller, const std::string& path,
                        std::string_view value);
// Creating an existing node is fine (and fires no watch).
Result<void> node_mkdir(NodeView& view, const Caller& caller, const std::string& path);
// Removes the node and its subtree; a missing node whose parent exists is fine.
Result<void> node_rm(NodeView& view, const Caller& caller, const std::string& path);
// The node, checked for `need` (for DIRECTORY, DIRECTORY_PART and GET_PERMS).
Result<const NodeHead*> node_lookup(NodeView& view, const Caller& caller, const std::string& path,
                                Access need);
Result<void> node_set_perms(NodeView& view, const Caller& caller, const std::string& path,
                            Perms perms);

// Checks a permission list a caller wants to set: non-empty, within the
// per-node limit for guests.
Result<void> check_perms_request(const Caller& caller, const Perms& perms);

}  // namespace atl::hv::xs
