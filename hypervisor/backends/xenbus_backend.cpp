#include "xenbus_backend.h"

namespace atl::hv {

std::optional<uint32_t> parse_u32(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

BackendReaction react_to_frontend(const std::optional<std::string>& frontend_state, XenbusState backend) {
  BackendReaction r;
  if (!frontend_state) {  // the frontend is gone (its domain ended or was torn down)
    r.disconnect = true;
    if (backend != XenbusStateClosed) r.state = XenbusStateClosed;
    return r;
  }
  auto value = parse_u32(*frontend_state);
  if (!value) return r;
  switch (*value) {
    case XenbusStateInitialising:
      if (backend == XenbusStateClosed) r.state = XenbusStateInitWait;
      break;
    case XenbusStateInitialised:
    case XenbusStateConnected:
      r.connect = backend == XenbusStateInitWait;
      break;
    case XenbusStateClosing:
      r.disconnect = true;
      r.state = XenbusStateClosing;
      break;
    case XenbusStateClosed:
      r.disconnect = true;
      r.state = XenbusStateClosed;
      break;
    default:
      break;
  }
  return r;
}

}  // namespace atl::hv
