#include "xenstored_watch.h"

#include <algorithm>

#include "xs_wire.h"

namespace atl::hv::xs {

namespace {

bool may_hear(DomId domid, const Change& change) {
  if (includes(access_for(domid, change.perms), Access::kRead)) return true;
  return change.old_perms && includes(access_for(domid, *change.old_perms), Access::kRead);
}

}  // namespace

Result<void> WatchTable::add(Connection& conn, const ResolvedPath& path, std::string_view token,
                             uint32_t max) {
  auto& mine = m_by_conn[&conn];
  Key key{path.path, std::string(token)};
  if (mine.count(key)) return Errno::kExist;
  if (max != 0 && mine.size() >= max) return kErrQuota;
  auto w = std::make_unique<Watch>(Watch{&conn, path.path, key.second, path.relative});
  auto& list = m_by_path[path.path];
  if (list.empty()) m_paths.insert(path.path);
  list.push_back(w.get());
  mine.emplace(std::move(key), std::move(w));
  ++m_size;
  return {};
}

Result<void> WatchTable::remove(Connection& conn, const std::string& path, std::string_view token) {
  auto conn_it = m_by_conn.find(&conn);
  if (conn_it == m_by_conn.end()) return Errno::kNoEnt;
  auto it = conn_it->second.find(Key{path, std::string(token)});
  if (it == conn_it->second.end()) return Errno::kNoEnt;
  auto path_it = m_by_path.find(path);
  auto& list = path_it->second;
  list.erase(std::find(list.begin(), list.end(), it->second.get()));
  if (list.empty()) {
    m_paths.erase(path);
    m_by_path.erase(path_it);
  }
  conn_it->second.erase(it);
  --m_size;
  return {};
}

void WatchTable::remove_all(Connection& conn) {
  auto conn_it = m_by_conn.find(&conn);
  if (conn_it == m_by_conn.end()) return;
  std::vector<Key> keys;
  for (const auto& [key, watch] : conn_it->second) keys.push_back(key);
  for (const Key& key : keys) (void)remove(conn, key.first, key.second);
  m_by_conn.erase(&conn);
}

size_t WatchTable::count(const Connection& conn) const {
  auto it = m_by_conn.find(&conn);
  return it == m_by_conn.end() ? 0 : it->second.size();
}

void WatchTable::notify(const Watch& w, std::string_view node_path, const Change& change) {
  if (!may_hear(w.conn->domid(), change)) return;
  std::string_view reported = w.relative ? relative_to_home(node_path, w.conn->home()) : node_path;
  w.conn->deliver_event(reported, w.token);
}

void WatchTable::fire(const Change& change) {
  // The changed node and each of its ancestors.
  std::string_view p = change.path;
  while (true) {
    auto it = m_by_path.find(p);
    if (it != m_by_path.end())
      for (const Watch* w : it->second) notify(*w, change.path, change);
    if (p == "/") break;
    p = parent_path(p);
  }
  if (change.kind != ChangeKind::kRemoved) return;
  // Watches below a removed node hear of it under their own path.
  std::string prefix = change.path + "/";
  for (auto it = m_paths.lower_bound(prefix);
       it != m_paths.end() && it->compare(0, prefix.size(), prefix) == 0; ++it)
    for (const Watch* w : m_by_path.find(*it)->second) notify(*w, w->path, change);
}

void WatchTable::fire_special(std::string_view name, const Perms& perms) {
  auto it = m_by_path.find(name);
  if (it == m_by_path.end()) return;
  Change change{std::string(name), ChangeKind::kModified, perms, std::nullopt};
  for (const Watch* w : it->second) notify(*w, name, change);
}

}  // namespace atl::hv::xs
