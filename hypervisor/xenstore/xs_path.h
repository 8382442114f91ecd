// Xenstore node names: validation and canonical form, as xenstored defines
// them. A canonical path is absolute ("/local/domain/3/name"), has no empty
// component and no trailing slash, and uses only [A-Za-z0-9-/_@]. A relative
// path is resolved against the caller's home, /local/domain/<domid>. The two
// special watch names, @introduceDomain and @releaseDomain, are not nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <xen/io/xs_wire.h>

#include "atoll/types.h"

namespace atl::hv::xs {

inline constexpr size_t kAbsPathMax = XENSTORE_ABS_PATH_MAX;
inline constexpr size_t kRelPathMax = XENSTORE_REL_PATH_MAX;
inline constexpr std::string_view kIntroduceDomain = "@introduceDomain";
inline constexpr std::string_view kReleaseDomain = "@releaseDomain";

// "/local/domain/<domid>".
std::string domain_path(DomId domid);

// True for a valid canonical absolute node name.
bool is_valid_node_path(std::string_view path);
bool is_special_path(std::string_view path);

// A name as the caller gave it, resolved. `relative` says whether it was
// resolved against the caller's home (watch events then report it relative).
struct ResolvedPath {
  std::string path;
  bool relative = false;
};
// Resolves and validates a node name; nullopt when it is not a valid node.
std::optional<ResolvedPath> resolve_node_path(std::string_view name, DomId caller);
// As above, but the special watch names are valid too (for WATCH/UNWATCH and
// the permissions of the special nodes).
std::optional<ResolvedPath> resolve_watch_path(std::string_view name, DomId caller);

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string_view parent_path(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view base_name(std::string_view path);
// "/a" + "b" -> "/a/b"; "/" + "b" -> "/b".
std::string child_path(std::string_view parent, std::string_view name);
// True when `path` is `ancestor` or lies below it ("/a" covers "/a/b", not "/ab").
bool path_covers(std::string_view ancestor, std::string_view path);

// What a relative watch registered by `domid` reports: `path` with the home
// prefix stripped (unchanged when it lies outside the home).
std::string_view relative_to_home(std::string_view path, std::string_view home);

}  // namespace atl::hv::xs
