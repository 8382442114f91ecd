// The xenstore wire codec: see atoll/xs_codec.h.
#include "atoll/xs_codec.h"

#include <string.h>

namespace atl::xs {
namespace {

struct ErrorName {
  std::string_view name;
  Errno error;
};

// The names of xs_wire.h's xsd_errors table (Linux errno values), plus EQUOTA,
// which oxenstored sends when a per-domain quota runs out.
constexpr ErrorName kErrorNames[] = {
    {"EINVAL", Errno::kInval}, {"EACCES", Errno::kAcces},     {"EEXIST", Errno::kExist},
    {"EISDIR", kErrIsDir},     {"ENOENT", Errno::kNoEnt},     {"ENOMEM", Errno::kNoMem},
    {"ENOSPC", Errno::kNoSpc}, {"EIO", Errno::kIo},           {"ENOTEMPTY", Errno::kNotEmpty},
    {"ENOSYS", Errno::kNoSys}, {"EROFS", kErrRoFs},           {"EBUSY", Errno::kBusy},
    {"EAGAIN", Errno::kAgain}, {"EISCONN", kErrIsConn},       {"E2BIG", Errno::kTooBig},
    {"EPERM", Errno::kPerm},   {"EQUOTA", kErrQuota},
};

}  // namespace

Errno errno_from_name(std::string_view name) {
  name = first_field(name);
  if (size_t colon = name.find(':'); colon != std::string_view::npos) name = name.substr(0, colon);
  for (const auto& entry : kErrorNames)
    if (entry.name == name) return entry.error;
  return Errno::kIo;
}

std::string encode(uint32_t type, uint32_t req_id, uint32_t tx_id, std::string_view payload) {
  xsd_sockmsg header{type, req_id, tx_id, static_cast<uint32_t>(payload.size())};
  std::string out(kHeaderSize + payload.size(), '\0');
  memcpy(out.data(), &header, kHeaderSize);
  memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

std::string nul_fields(std::initializer_list<std::string_view> fields) {
  std::string out;
  for (std::string_view field : fields) {
    out.append(field);
    out.push_back('\0');
  }
  return out;
}

std::vector<std::string_view> split_fields(std::string_view payload) {
  std::vector<std::string_view> fields;
  while (!payload.empty()) {
    size_t nul = payload.find('\0');
    if (nul == std::string_view::npos) {
      fields.push_back(payload);
      break;
    }
    fields.push_back(payload.substr(0, nul));
    payload.remove_prefix(nul + 1);
  }
  return fields;
}

std::string_view first_field(std::string_view payload) {
  return payload.substr(0, payload.find('\0'));
}

std::optional<uint32_t> parse_decimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return static_cast<uint32_t>(value);
}

std::optional<WatchEvent> parse_watch_event(std::string_view payload) {
  auto fields = split_fields(payload);
  if (fields.size() < 2 || fields[0].empty()) return std::nullopt;
  return WatchEvent{std::string(fields[0]), std::string(fields[1])};
}

std::optional<Permission> parse_permission(std::string_view text) {
  if (text.empty()) return std::nullopt;
  char letter = text[0];
  if (letter != 'n' && letter != 'r' && letter != 'w' && letter != 'b') return std::nullopt;
  auto domid = parse_decimal(text.substr(1), 0xFFFF);
  if (!domid) return std::nullopt;
  return Permission{DomId(static_cast<uint16_t>(*domid)), static_cast<Access>(letter)};
}

std::string format_permission(Permission permission) {
  return static_cast<char>(permission.access) + std::to_string(permission.domid.value());
}

void MessageParser::feed(const void* data, size_t length) {
  if (m_failed) return;
  // Drop what next() already returned before the buffer grows.
  if (m_offset > 0) {
    m_buffer.erase(0, m_offset);
    m_offset = 0;
  }
  m_buffer.append(static_cast<const char*>(data), length);
}

std::optional<Message> MessageParser::next() {
  if (m_failed || buffered() < kHeaderSize) return std::nullopt;
  Message message;
  memcpy(&message.header, m_buffer.data() + m_offset, kHeaderSize);
  if (message.header.len > kMaxPayload) {
    m_failed = true;
    return std::nullopt;
  }
  if (buffered() < kHeaderSize + message.header.len) return std::nullopt;
  message.payload.assign(m_buffer, m_offset + kHeaderSize, message.header.len);
  m_offset += kHeaderSize + message.header.len;
  if (m_offset == m_buffer.size()) {
    m_buffer.clear();
    m_offset = 0;
  }
  return message;
}

}  // namespace atl::xs
