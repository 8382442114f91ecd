#include "xs_wire.h"

#include <cstring>
#include <iterator>

namespace atl::hv::xs {

namespace {

constexpr std::string_view kQuotaName = "EQUOTA";

constexpr const char* kTypeNames[] = {
    "CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH",
    "TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
    "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT",
    "ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "UNKNOWN",
    "RESET_WATCHES", "DIRECTORY_PART",
};
static_assert(std::size(kTypeNames) == XS_TYPE_COUNT);

}  // namespace

// The names come from the installed xs_wire.h's own xsd_errors table.
std::string_view error_name(Errno error) {
  if (error == kErrQuota) return kQuotaName;
  for (const auto& e : xsd_errors)
    if (e.errnum == to_int(error)) return e.errstring;
  return xsd_errors[0].errstring;  // EINVAL, as xenstored's send_error()
}

std::optional<Errno> error_from_name(std::string_view name) {
  if (name == kQuotaName) return kErrQuota;
  for (const auto& e : xsd_errors)
    if (name == e.errstring) return static_cast<Errno>(e.errnum);
  return std::nullopt;
}

std::string_view msg_type_name(uint32_t type) {
  return type < std::size(kTypeNames) ? kTypeNames[type] : "UNKNOWN";
}

std::string encode_message(MsgType type, uint32_t req_id, uint32_t tx_id, std::string_view payload) {
  MsgHeader h{static_cast<uint32_t>(type), req_id, tx_id, static_cast<uint32_t>(payload.size())};
  std::string out(kHeaderSize + payload.size(), '\0');
  std::memcpy(out.data(), &h, kHeaderSize);
  std::memcpy(out.data() + kHeaderSize, payload.data(), payload.size());
  return out;
}

std::string encode_error(Errno error, uint32_t req_id, uint32_t tx_id) {
  std::string payload(error_name(error));
  payload.push_back('\0');
  return encode_message(MsgType::kError, req_id, tx_id, payload);
}

std::string encode_watch_event(std::string_view path, std::string_view token) {
  std::string payload;
  payload.reserve(path.size() + token.size() + 2);
  payload.append(path).push_back('\0');
  payload.append(token).push_back('\0');
  return encode_message(MsgType::kWatchEvent, 0, 0, payload);
}

SplitStrings split_strings(std::string_view payload) {
  SplitStrings out;
  size_t start = 0;
  while (start < payload.size()) {
    size_t nul = payload.find('\0', start);
    if (nul == std::string_view::npos) {
      out.trailing = payload.size() - start;
      break;
    }
    out.strings.push_back(payload.substr(start, nul - start));
    start = nul + 1;
  }
  return out;
}

std::optional<std::string_view> one_arg(std::string_view payload) {
  if (payload.empty() || payload.find('\0') != payload.size() - 1) return std::nullopt;
  return payload.substr(0, payload.size() - 1);
}

size_t MessageAssembler::want() const {
  switch (m_state) {
    case State::kHeader: return kHeaderSize - m_header_used;
    case State::kPayload: return m_message.header.len - m_message.payload.size();
    case State::kReady:
    case State::kBroken: return 0;
  }
  return 0;
}

size_t MessageAssembler::feed(const char* data, size_t len) {
  size_t n = len < want() ? len : want();
  if (m_state == State::kHeader) {
    std::memcpy(m_header + m_header_used, data, n);
    m_header_used += n;
    if (m_header_used < kHeaderSize) return n;
    std::memcpy(&m_message.header, m_header, kHeaderSize);
    // A length beyond the protocol's limit desynchronises the stream for good.
    if (m_message.header.len > kPayloadMax) {
      m_state = State::kBroken;
      return n;
    }
    m_message.payload.clear();
    m_message.payload.reserve(m_message.header.len);
    m_state = m_message.header.len == 0 ? State::kReady : State::kPayload;
    return n;
  }
  if (m_state == State::kPayload) {
    m_message.payload.append(data, n);
    if (m_message.payload.size() == m_message.header.len) m_state = State::kReady;
  }
  return n;
}

Message MessageAssembler::take() {
  Message out = std::move(m_message);
  m_message = Message{};
  m_header_used = 0;
  m_state = State::kHeader;
  return out;
}

void MessageAssembler::reset() {
  m_message = Message{};
  m_header_used = 0;
  m_state = State::kHeader;
}

}  // namespace atl::hv::xs
