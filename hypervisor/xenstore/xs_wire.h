// The xenstore wire protocol (xen/io/xs_wire.h): the 16-byte message header,
// message types, error replies by errno name, and an incremental decoder that
// turns a byte stream (socket or ring) into whole messages.
//
// Everything that arrives here is hostile input: a header whose length exceeds
// XENSTORE_PAYLOAD_MAX breaks the stream (the caller disconnects that peer);
// anything else malformed is reported per message by the request handlers.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <xen/io/xs_wire.h>

#include "atoll/result.h"

namespace atl::hv::xs {

// ABI: xen/io/xs_wire.h, enum xsd_sockmsg_type. Values are the header's `type`.
enum class MsgType : uint32_t {
  kControl = XS_CONTROL,
  kDirectory = XS_DIRECTORY,
  kRead = XS_READ,
  kGetPerms = XS_GET_PERMS,
  kWatch = XS_WATCH,
  kUnwatch = XS_UNWATCH,
  kTransactionStart = XS_TRANSACTION_START,
  kTransactionEnd = XS_TRANSACTION_END,
  kIntroduce = XS_INTRODUCE,
  kRelease = XS_RELEASE,
  kGetDomainPath = XS_GET_DOMAIN_PATH,
  kWrite = XS_WRITE,
  kMkdir = XS_MKDIR,
  kRm = XS_RM,
  kSetPerms = XS_SET_PERMS,
  kWatchEvent = XS_WATCH_EVENT,
  kError = XS_ERROR,
  kIsDomainIntroduced = XS_IS_DOMAIN_INTRODUCED,
  kResume = XS_RESUME,
  kSetTarget = XS_SET_TARGET,
  kResetWatches = XS_RESET_WATCHES,
  kDirectoryPart = XS_DIRECTORY_PART,
};

// ABI: xen/io/xs_wire.h, struct xsd_sockmsg (followed by `len` payload bytes).
struct MsgHeader {
  uint32_t type;
  uint32_t req_id;
  uint32_t tx_id;
  uint32_t len;
};
static_assert(sizeof(MsgHeader) == sizeof(xsd_sockmsg));
static_assert(offsetof(MsgHeader, type) == offsetof(xsd_sockmsg, type));
static_assert(offsetof(MsgHeader, req_id) == offsetof(xsd_sockmsg, req_id));
static_assert(offsetof(MsgHeader, tx_id) == offsetof(xsd_sockmsg, tx_id));
static_assert(offsetof(MsgHeader, len) == offsetof(xsd_sockmsg, len));

inline constexpr size_t kHeaderSize = sizeof(MsgHeader);
inline constexpr uint32_t kPayloadMax = XENSTORE_PAYLOAD_MAX;

struct Message {
  MsgHeader header;
  std::string payload;
  MsgType type() const { return static_cast<MsgType>(header.type); }
};

// Errors xenstored replies with that atl::Errno has no name for. EQUOTA is not
// in xs_wire.h's table (oxenstored's name for a quota hit); libxenstore reads
// an unknown name as EINVAL.
inline constexpr Errno kErrIsDir = static_cast<Errno>(EISDIR);
inline constexpr Errno kErrRoFs = static_cast<Errno>(EROFS);
inline constexpr Errno kErrIsConn = static_cast<Errno>(EISCONN);
inline constexpr Errno kErrQuota = static_cast<Errno>(EDQUOT);

// "ENOENT" for Errno::kNoEnt, as xs_wire.h's xsd_errors spells them; EINVAL for
// anything without a name (as xenstored does).
std::string_view error_name(Errno error);
// The inverse, for clients and tests; nullopt for an unknown name.
std::optional<Errno> error_from_name(std::string_view name);

// A readable name for logs ("READ", "WATCH_EVENT"); "UNKNOWN" otherwise.
std::string_view msg_type_name(uint32_t type);

// One complete message as bytes: header then payload. `payload` must fit
// kPayloadMax; callers check (an oversize reply becomes E2BIG first).
std::string encode_message(MsgType type, uint32_t req_id, uint32_t tx_id, std::string_view payload);
std::string encode_error(Errno error, uint32_t req_id, uint32_t tx_id);
// WATCH_EVENT payload: "path\0token\0".
std::string encode_watch_event(std::string_view path, std::string_view token);

// The NUL-terminated strings at the start of `payload`. Bytes after the last
// NUL are not a string and are reported through `trailing`.
struct SplitStrings {
  std::vector<std::string_view> strings;
  size_t trailing = 0;
};
SplitStrings split_strings(std::string_view payload);

// The payload as exactly one NUL-terminated string (xenstored's onearg()).
std::optional<std::string_view> one_arg(std::string_view payload);

// Incremental decoder. `want()` says how many more bytes complete the current
// part (header or payload), so a ring reader never takes bytes beyond one
// message; `feed()` takes at most that many.
class MessageAssembler {
 public:
  enum class State : uint8_t { kHeader, kPayload, kReady, kBroken };

  size_t want() const;
  // Consumes up to want() bytes of `data`; returns how many it took.
  size_t feed(const char* data, size_t len);
  State state() const { return m_state; }
  bool ready() const { return m_state == State::kReady; }
  bool broken() const { return m_state == State::kBroken; }
  // The assembled message; the assembler starts over on the next header.
  Message take();
  void reset();

 private:
  State m_state = State::kHeader;
  char m_header[kHeaderSize];
  size_t m_header_used = 0;
  Message m_message{};
};

}  // namespace atl::hv::xs
