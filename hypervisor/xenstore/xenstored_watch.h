// Watches, indexed by the path they watch. A change at /a/b/c looks up the
// watches on /a/b/c, /a/b, /a and / (one hash lookup per level of the changed
// path, whatever the number of watches); removing /a/b also reaches watches
// registered below it, which sit next to each other in an ordered set of the
// watched paths. Nothing walks every watch.
//
// Who hears what, as in xenstored: a watch fires once when registered (the
// caller does that), then for every change to its node or a descendant, and
// for the removal of an ancestor; only domains allowed to read the changed
// node hear of it. A watch registered with a relative path reports relative
// paths.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "atoll/result.h"
#include "xenstored_transaction.h"
#include "xs_connection.h"
#include "xs_path.h"

namespace atl::hv::xs {

struct Watch {
  Connection* conn;
  std::string path;  // canonical, or a special name
  std::string token;
  bool relative;
};

class WatchTable {
 public:
  // EEXIST for a second (path, token) on one connection; EQUOTA past `max`
  // watches for the connection (0 = no limit).
  Result<void> add(Connection& conn, const ResolvedPath& path, std::string_view token, uint32_t max);
  // ENOENT when `conn` has no such watch.
  Result<void> remove(Connection& conn, const std::string& path, std::string_view token);
  void remove_all(Connection& conn);
  size_t count(const Connection& conn) const;
  size_t size() const { return m_size; }

  // Queues WATCH_EVENTs for `change` on every connection that should hear it.
  void fire(const Change& change);
  // Fires the watches on a special name (@introduceDomain, @releaseDomain) for
  // the domains `perms` lets read it.
  void fire_special(std::string_view name, const Perms& perms);

 private:
  using Key = std::pair<std::string, std::string>;  // (path, token)
  void notify(const Watch& w, std::string_view node_path, const Change& change);

  // Hashing string_views too, so ancestors are looked up without copies.
  struct PathHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<const Watch*>, PathHash, std::equal_to<>> m_by_path;
  std::set<std::string, std::less<>> m_paths;  // the same keys, ordered
  std::unordered_map<const Connection*, std::map<Key, std::unique_ptr<Watch>>> m_by_conn;
  size_t m_size = 0;
};

}  // namespace atl::hv::xs
