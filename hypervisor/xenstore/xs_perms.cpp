#include "xs_perms.h"

namespace atl::hv::xs {

namespace {

Access access_of(PermMode mode) {
  switch (mode) {
    case PermMode::kNone: return Access::kNone;
    case PermMode::kRead: return Access::kRead;
    case PermMode::kWrite: return Access::kWrite;
    case PermMode::kBoth: return Access::kRead | Access::kWrite;
  }
  return Access::kNone;
}

char letter_of(PermMode mode) {
  switch (mode) {
    case PermMode::kNone: return 'n';
    case PermMode::kRead: return 'r';
    case PermMode::kWrite: return 'w';
    case PermMode::kBoth: return 'b';
  }
  return 'n';
}

}  // namespace

Access access_for(DomId domid, const Perms& perms) {
  constexpr Access kAll = Access::kRead | Access::kWrite | Access::kOwner;
  if (is_privileged(domid) || perms.empty() || perms[0].domid == domid) return kAll;
  for (size_t i = 1; i < perms.size(); ++i)
    if (perms[i].domid == domid) return access_of(perms[i].mode);
  return access_of(perms[0].mode);
}

std::optional<Perm> parse_perm(std::string_view text) {
  if (text.size() < 2 || text.size() > 6) return std::nullopt;
  PermMode mode;
  switch (text[0]) {
    case 'n': mode = PermMode::kNone; break;
    case 'r': mode = PermMode::kRead; break;
    case 'w': mode = PermMode::kWrite; break;
    case 'b': mode = PermMode::kBoth; break;
    default: return std::nullopt;
  }
  uint32_t id = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<uint32_t>(c - '0');
  }
  if (id > UINT16_MAX) return std::nullopt;
  return Perm{DomId(static_cast<uint16_t>(id)), mode};
}

std::string format_perm(const Perm& perm) {
  return letter_of(perm.mode) + std::to_string(perm.domid.value());
}

std::string format_perms(const Perms& perms) {
  std::string out;
  for (const Perm& p : perms) {
    out.append(format_perm(p));
    out.push_back('\0');
  }
  return out;
}

}  // namespace atl::hv::xs
