// Node permissions as Xen defines them: a list whose first entry names the
// owner and what every other domain may do; later entries grant particular
// domains particular access. On the wire each entry is a letter and a domain
// id: "n0" (none), "r5" (read), "w5" (write), "b5" (both).
//
// Domain 0 (the host socket and the hypervisor itself) may do anything; an
// owner may do anything to its node, including changing its permissions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/types.h"

namespace atl::hv::xs {

enum class PermMode : uint8_t { kNone = 0, kRead = 1, kWrite = 2, kBoth = 3 };

struct Perm {
  DomId domid;
  PermMode mode;
  friend bool operator==(const Perm& a, const Perm& b) {
    return a.domid == b.domid && a.mode == b.mode;
  }
};

// Never empty: entry 0 is the owner.
using Perms = std::vector<Perm>;

// What a domain is allowed to do to a node; a bit set.
enum class Access : uint8_t { kNone = 0, kRead = 1, kWrite = 2, kOwner = 4 };
inline constexpr Access operator|(Access a, Access b) {
  return static_cast<Access>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}
inline constexpr bool includes(Access have, Access need) {
  return (static_cast<uint8_t>(have) & static_cast<uint8_t>(need)) == static_cast<uint8_t>(need);
}

inline constexpr DomId kDom0{0};
inline bool is_privileged(DomId domid) { return domid == kDom0; }

// The access `domid` has to a node with `perms` (Xen's perm_for_conn()).
Access access_for(DomId domid, const Perms& perms);

// "r5" -> {5, kRead}; nullopt for anything else (unknown letter, no digits,
// trailing junk, a domain id beyond 65535).
std::optional<Perm> parse_perm(std::string_view text);
std::string format_perm(const Perm& perm);
// The wire form: each entry followed by a NUL.
std::string format_perms(const Perms& perms);

}  // namespace atl::hv::xs
