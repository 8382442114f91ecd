// control/shutdown: how the toolstack (`xl shutdown`, `xl reboot`, `atoll`'s
// equivalent) asks a domain to stop. The guest-side reaction is in xs_boot.cpp.
#include "atoll/xenstore.h"

namespace atl::xs {
namespace {

constexpr std::string_view kShutdownKey = "control/shutdown";

}  // namespace

ShutdownRequest parse_shutdown_request(std::string_view value) {
  value = first_field(value);
  if (value.empty()) return ShutdownRequest::kNone;
  if (value == "poweroff" || value == "halt") return ShutdownRequest::kPoweroff;
  if (value == "reboot") return ShutdownRequest::kReboot;
  return ShutdownRequest::kUnsupported;
}

Result<ShutdownRequest> take_shutdown_request(Client& client) {
  ShutdownRequest request = ShutdownRequest::kNone;
  auto done = transact(client, [&](Transaction& t) -> Result<void> {
    auto value = t.read(kShutdownKey);
    if (!value.ok()) {
      request = ShutdownRequest::kNone;
      return value.error() == Errno::kNoEnt ? Result<void>() : Result<void>(value.error());
    }
    request = parse_shutdown_request(*value);
    if (request != ShutdownRequest::kPoweroff && request != ShutdownRequest::kReboot) return {};
    // Cleared, like Linux does, so the request is acted on once.
    return t.write(kShutdownKey, "");
  });
  if (!done.ok()) return done.error();
  return request;
}

}  // namespace atl::xs
