// The request handlers for nodes, watches and transactions: each checks the
// shape of its payload (xs_wire.h says what every type carries), then calls
// the Core operation. A malformed payload is EINVAL; the connection lives on.
#include "xenstored_core.h"

#include "decimal.h"
#include "node_ops.h"
#include "node_view.h"

namespace atl::hv::xs {

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out.append(n).push_back('\0');
  return out;
}

std::string with_nul(std::string s) {
  s.push_back('\0');
  return s;
}

// Exactly `n` NUL-terminated strings and nothing after them.
std::optional<std::vector<std::string_view>> exact_strings(std::string_view payload, size_t n) {
  SplitStrings s = split_strings(payload);
  if (s.strings.size() != n || s.trailing != 0) return std::nullopt;
  return std::move(s.strings);
}

Result<std::string> ok_or(Result<void> r) {
  if (!r.ok()) return r.error();
  return std::string(kOk);
}

}  // namespace

Result<std::string> Core::do_read(Request& r) {
  auto name = one_arg(r.msg.payload);
  if (!name) return Errno::kInval;
  return read(r.conn.domid(), r.tx, *name);
}

// "path\0value": the value is the rest of the payload, binary, no NUL added.
Result<std::string> Core::do_write(Request& r) {
  std::string_view payload = r.msg.payload;
  size_t nul = payload.find('\0');
  if (nul == std::string_view::npos) return Errno::kInval;
  return ok_or(write(r.conn.domid(), r.tx, payload.substr(0, nul), payload.substr(nul + 1)));
}

Result<std::string> Core::do_mkdir(Request& r) {
  auto name = one_arg(r.msg.payload);
  if (!name) return Errno::kInval;
  return ok_or(mkdir(r.conn.domid(), r.tx, *name));
}

Result<std::string> Core::do_rm(Request& r) {
  auto name = one_arg(r.msg.payload);
  if (!name) return Errno::kInval;
  return ok_or(rm(r.conn.domid(), r.tx, *name));
}

Result<std::string> Core::do_directory(Request& r) {
  auto name = one_arg(r.msg.payload);
  if (!name) return Errno::kInval;
  auto children = directory(r.conn.domid(), r.tx, *name);
  if (!children.ok()) return children.error();
  return joined(children.value());  // E2BIG when too long: the client then asks in parts
}

// "path\0offset\0" -> "generation\0" + as many whole names from byte `offset`
// of the listing as fit, with one more NUL once the listing is complete.
Result<std::string> Core::do_directory_part(Request& r) {
  auto args = exact_strings(r.msg.payload, 2);
  if (!args) return Errno::kInval;
  auto parsed_offset = parse_decimal((*args)[1]);
  if (!parsed_offset) return Errno::kInval;
  size_t offset = *parsed_offset;
  auto path = resolve_node_path((*args)[0], r.conn.domid());
  if (!path) return Errno::kInval;
  NodeView view(m_store, r.tx);
  Result<const NodeHead*> n = node_lookup(view, Caller{r.conn.domid(), m_options}, path->path, Access::kRead);
  if (!n.ok()) return n.error();
  std::string listing = joined(view.children(path->path));
  std::string out = with_nul(std::to_string(n.value()->generation));
  if (offset >= listing.size()) return with_nul(std::move(out));
  size_t room = kPayloadMax - out.size() - 1;
  size_t len = 0;
  while (offset + len < listing.size()) {
    size_t next = listing.find('\0', offset + len);
    size_t name_len = (next == std::string::npos ? listing.size() : next + 1) - (offset + len);
    if (len + name_len > room) break;
    len += name_len;
  }
  out.append(listing, offset, len);
  if (offset + len == listing.size()) out.push_back('\0');
  return out;
}

Result<std::string> Core::do_get_perms(Request& r) {
  auto name = one_arg(r.msg.payload);
  if (!name) return Errno::kInval;
  auto perms = get_perms(r.conn.domid(), r.tx, *name);
  if (!perms.ok()) return perms.error();
  return format_perms(perms.value());
}

// "path\0perm\0perm\0...": at least one permission, the owner first.
Result<std::string> Core::do_set_perms(Request& r) {
  SplitStrings s = split_strings(r.msg.payload);
  if (s.strings.size() < 2 || s.trailing != 0) return Errno::kInval;
  Perms perms;
  for (size_t i = 1; i < s.strings.size(); ++i) {
    auto p = parse_perm(s.strings[i]);
    if (!p) return Errno::kInval;
    perms.push_back(*p);
  }
  return ok_or(set_perms(r.conn.domid(), r.tx, s.strings[0], std::move(perms)));
}

// "path\0token\0". The reply is followed by the watch's first event.
Result<std::string> Core::do_watch(Request& r) {
  auto args = exact_strings(r.msg.payload, 2);
  if (!args) return Errno::kInval;
  auto added = add_watch(r.conn, (*args)[0], (*args)[1]);
  if (!added.ok()) return added.error();
  m_initial_event.emplace(std::string((*args)[0]), std::string((*args)[1]));
  return std::string(kOk);
}

Result<std::string> Core::do_unwatch(Request& r) {
  auto args = exact_strings(r.msg.payload, 2);
  if (!args) return Errno::kInval;
  return ok_or(remove_watch(r.conn, (*args)[0], (*args)[1]));
}

// Drops the connection's watches and transactions (a guest kernel starting
// over, e.g. after kexec).
Result<std::string> Core::do_reset_watches(Request& r) {
  m_watches.remove_all(r.conn);
  r.conn.drop_transactions();
  return std::string(kOk);
}

Result<std::string> Core::do_transaction_start(Request& r) {
  if (r.tx) return Errno::kBusy;  // no nesting
  if (!is_privileged(r.conn.domid()) &&
      r.conn.transaction_count() >= m_options.max_transactions_per_domain)
    return kErrQuota;
  return with_nul(std::to_string(r.conn.start_transaction().id()));
}

// "T\0" commits, "F\0" abandons. The transaction is over either way.
Result<std::string> Core::do_transaction_end(Request& r) {
  auto arg = one_arg(r.msg.payload);
  if (!arg || (*arg != "T" && *arg != "F")) return Errno::kInval;
  if (!r.tx) return Errno::kNoEnt;
  return ok_or(end_transaction(r.conn, r.tx->id(), *arg == "T"));
}

}  // namespace atl::hv::xs
