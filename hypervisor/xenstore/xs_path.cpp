#include "xs_path.h"

namespace atl::hv::xs {

namespace {

bool valid_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '/' || c == '_' || c == '@';
}

}  // namespace

std::string domain_path(DomId domid) {
  return "/local/domain/" + std::to_string(domid.value());
}

bool is_valid_node_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path.size() > kAbsPathMax) return false;
  if (path.size() > 1 && path.back() == '/') return false;
  if (path.find("//") != std::string_view::npos) return false;
  for (char c : path)
    if (!valid_char(c)) return false;
  return true;
}

bool is_special_path(std::string_view path) {
  return path == kIntroduceDomain || path == kReleaseDomain;
}

std::optional<ResolvedPath> resolve_node_path(std::string_view name, DomId caller) {
  if (!name.empty() && name.front() == '/') {
    if (!is_valid_node_path(name)) return std::nullopt;
    return ResolvedPath{std::string(name), false};
  }
  // "@..." names are special watch names, never nodes (not relative paths).
  if (name.empty() || name.front() == '@' || name.size() > kRelPathMax) return std::nullopt;
  std::string path = domain_path(caller);
  path.push_back('/');
  path.append(name);
  if (!is_valid_node_path(path)) return std::nullopt;
  return ResolvedPath{std::move(path), true};
}

std::optional<ResolvedPath> resolve_watch_path(std::string_view name, DomId caller) {
  if (is_special_path(name)) return ResolvedPath{std::string(name), false};
  return resolve_node_path(name, caller);
}

std::string_view parent_path(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string child_path(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (out != "/") out.push_back('/');
  out.append(name);
  return out;
}

bool path_covers(std::string_view ancestor, std::string_view path) {
  if (ancestor == "/") return !path.empty() && path.front() == '/';
  if (path.size() < ancestor.size() || path.substr(0, ancestor.size()) != ancestor) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

std::string_view relative_to_home(std::string_view path, std::string_view home) {
  if (path.size() > home.size() + 1 && path.substr(0, home.size()) == home &&
      path[home.size()] == '/')
    return path.substr(home.size() + 1);
  return path;
}

}  // namespace atl::hv::xs
