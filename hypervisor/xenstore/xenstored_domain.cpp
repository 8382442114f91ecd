// The domain requests: GET_DOMAIN_PATH for everyone, INTRODUCE, RELEASE,
// IS_DOMAIN_INTRODUCED and RESUME for domain 0. Rings are attached by the
// hypervisor (Xenstored::introduce), which maps guest memory itself: a wire
// INTRODUCE only records that the domain exists, and its mfn and port
// arguments are checked for shape but not used.
#include "xenstored_core.h"

#include "decimal.h"

#include <xen/xen.h>

namespace atl::hv::xs {

namespace {

std::optional<uint32_t> parse_number(std::string_view text) {
  auto v = parse_decimal(text, 0, UINT32_MAX);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::optional<DomId> parse_domid(std::string_view text) {
  auto v = parse_number(text);
  if (!v || *v > UINT16_MAX) return std::nullopt;
  return DomId(static_cast<uint16_t>(*v));
}

// A guest's id: not domain 0, not one of Xen's reserved ids (DOMID_SELF...).
std::optional<DomId> parse_guest_domid(std::string_view text) {
  auto d = parse_domid(text);
  if (!d || d->value() == 0 || d->value() >= DOMID_FIRST_RESERVED) return std::nullopt;
  return d;
}

}  // namespace

Result<std::string> Core::do_get_domain_path(Request& r) {
  auto arg = one_arg(r.msg.payload);
  auto domid = arg ? parse_domid(*arg) : std::nullopt;
  if (!domid) return Errno::kInval;
  std::string out = domain_path(*domid);
  out.push_back('\0');
  return out;
}

// "domid\0mfn\0port\0".
Result<std::string> Core::do_introduce(Request& r) {
  SplitStrings s = split_strings(r.msg.payload);
  if (s.strings.size() < 3) return Errno::kInval;
  auto domid = parse_guest_domid(s.strings[0]);
  if (!domid || !parse_number(s.strings[1]) || !parse_number(s.strings[2])) return Errno::kInval;
  if (!m_domains) return Errno::kNoSys;
  Result<void> ok = m_domains->introduce_from_wire(*domid);
  if (!ok.ok()) return ok.error();
  return std::string(kOk);
}

Result<std::string> Core::do_release(Request& r) {
  auto arg = one_arg(r.msg.payload);
  auto domid = arg ? parse_guest_domid(*arg) : std::nullopt;
  if (!domid) return Errno::kInval;
  if (!m_domains) return Errno::kNoEnt;
  Result<void> ok = m_domains->release_from_wire(*domid);
  if (!ok.ok()) return ok.error();
  return std::string(kOk);
}

Result<std::string> Core::do_is_domain_introduced(Request& r) {
  auto arg = one_arg(r.msg.payload);
  auto domid = arg ? parse_domid(*arg) : std::nullopt;
  if (!domid) return Errno::kInval;
  bool known = is_privileged(*domid) || (m_domains && m_domains->is_introduced(*domid));
  return std::string(known ? "T" : "F", 1) + '\0';
}

// Xen clears a domain's "shutting down" mark here; there is none to clear.
Result<std::string> Core::do_resume(Request& r) {
  auto arg = one_arg(r.msg.payload);
  auto domid = arg ? parse_guest_domid(*arg) : std::nullopt;
  if (!domid) return Errno::kInval;
  if (!m_domains || !m_domains->is_introduced(*domid)) return Errno::kNoEnt;
  return std::string(kOk);
}

// CONTROL (xenstore-control's debug commands) and SET_TARGET (device-model
// stub domains) are not implemented.
Result<std::string> Core::do_unsupported(Request&) { return Errno::kNoSys; }

}  // namespace atl::hv::xs
