// What the daemon sends an `atoll run` client once its domain exists (the
// `run` verb of docs/fleet.md): the console's output and the domain's events
// on one connection, so nothing the guest prints can be taken for an event.
// Each message is a kind byte, its length (4 bytes, big-endian) and its bytes:
//   'o'  console output
//   'e'  an event, one JSON object: {"event": "preserved"|"ended", "end": TEXT,
//        "exit_status": N}
// The client sends plain console input the other way; its end of the
// connection closing (Ctrl-C, or the client gone) destroys the domain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace atl::hv::fleet {

enum class RunMessageKind : char { kOutput = 'o', kEvent = 'e' };

struct RunMessage {
  RunMessageKind kind;
  std::string bytes;
};

std::string encode_run_message(RunMessageKind kind, const char* data, size_t length);

// Cuts messages out of the stream as it arrives.
class RunMessageReader {
 public:
  void feed(const char* data, size_t length) { m_buf.append(data, length); }
  // The next whole message, if one has arrived; a kind it does not know is an
  // error (nullopt and broken() from then on).
  std::optional<RunMessage> next();
  bool broken() const { return m_broken; }

 private:
  std::string m_buf;
  bool m_broken = false;
};

}  // namespace atl::hv::fleet
