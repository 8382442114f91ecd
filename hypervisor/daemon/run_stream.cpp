#include "run_stream.h"

namespace atl::hv::fleet {

namespace {
constexpr size_t kHeader = 5;
}

std::string encode_run_message(RunMessageKind kind, const char* data, size_t length) {
  std::string m(kHeader, '\0');
  m[0] = static_cast<char>(kind);
  auto n = static_cast<uint32_t>(length);
  for (int i = 0; i < 4; ++i) m[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  m.append(data, length);
  return m;
}

std::optional<RunMessage> RunMessageReader::next() {
  if (m_broken || m_buf.size() < kHeader) return std::nullopt;
  auto kind = static_cast<RunMessageKind>(m_buf[0]);
  if (kind != RunMessageKind::kOutput && kind != RunMessageKind::kEvent) {
    m_broken = true;
    return std::nullopt;
  }
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(m_buf[1 + i]);
  if (m_buf.size() < kHeader + n) return std::nullopt;
  RunMessage m{kind, m_buf.substr(kHeader, n)};
  m_buf.erase(0, kHeader + n);
  return m;
}

}  // namespace atl::hv::fleet
