// The xenstore wire format (xen/io/xs_wire.h) without any I/O: a 16-byte
// `xsd_sockmsg` header followed by a payload of NUL-terminated strings. Encoding
// requests, cutting a byte stream into messages, and reading the fields replies
// and watch events carry. The client (xenstore.h) and its tests build on this.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xen/io/xs_wire.h>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl::xs {

// ABI: xen/io/xs_wire.h, struct xsd_sockmsg (type, req_id, tx_id, len).
static_assert(sizeof(xsd_sockmsg) == 16, "xsd_sockmsg is 16 bytes on the wire");
inline constexpr size_t kHeaderSize = sizeof(xsd_sockmsg);
inline constexpr size_t kMaxPayload = XENSTORE_PAYLOAD_MAX;

// Error numbers in xs_wire.h's xsd_errors table (and oxenstored's EQUOTA) that
// atl::Errno has no enumerator for. The values are Linux's, like every Errno.
inline constexpr Errno kErrIsDir{21};
inline constexpr Errno kErrRoFs{30};
inline constexpr Errno kErrIsConn{106};
inline constexpr Errno kErrQuota{122};  // EDQUOT: the daemon's "EQUOTA"

// Maps the name an XS_ERROR reply carries ("ENOENT", "EAGAIN", ...) to an Errno.
// oxenstored appends detail after a colon ("EINVAL: ..."); only the name counts.
// A name nobody defined is a protocol error: Errno::kIo.
Errno errno_from_name(std::string_view name);

struct Message {
  xsd_sockmsg header;
  std::string payload;
};

// One whole message: header (with len = payload.size()) and payload.
std::string encode(uint32_t type, uint32_t req_id, uint32_t tx_id, std::string_view payload);

// Each field followed by its NUL: the shape of nearly every request payload.
std::string nul_fields(std::initializer_list<std::string_view> fields);

// Splits a payload of NUL-terminated strings. A last string without its NUL
// still counts; an empty payload has no fields.
std::vector<std::string_view> split_fields(std::string_view payload);

// The payload up to its first NUL (replies such as "OK\0" or a domain path).
std::string_view first_field(std::string_view payload);

// A decimal number with no sign, no spaces and no leading '+', at most `max`.
std::optional<uint32_t> parse_decimal(std::string_view text, uint32_t max);

struct WatchEvent {
  std::string path;
  std::string token;
};

// XS_WATCH_EVENT payload: "path\0token\0". nullopt when a field is missing.
std::optional<WatchEvent> parse_watch_event(std::string_view payload);

// One entry of a node's permission list: 'n' none, 'r' read, 'w' write, 'b' both,
// then the domain id. The first entry names the owner and the default for others.
enum class Access : char { kNone = 'n', kRead = 'r', kWrite = 'w', kBoth = 'b' };

struct Permission {
  DomId domid;
  Access access;
  friend bool operator==(const Permission& a, const Permission& b) {
    return a.domid == b.domid && a.access == b.access;
  }
};

std::optional<Permission> parse_permission(std::string_view text);
std::string format_permission(Permission permission);

// Cuts the daemon's byte stream into messages. Bytes arrive in any split; a
// header whose length exceeds XENSTORE_PAYLOAD_MAX leaves no way to find the
// next message, so the parser stops for good (failed()).
class MessageParser {
 public:
  void feed(const void* data, size_t length);
  // The next complete message, if one has arrived.
  std::optional<Message> next();
  bool failed() const { return m_failed; }
  // Bytes received but not yet returned as messages.
  size_t buffered() const { return m_buffer.size() - m_offset; }

 private:
  std::string m_buffer;
  size_t m_offset = 0;
  bool m_failed = false;
};

}  // namespace atl::xs
