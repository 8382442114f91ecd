#include "xenbus_backend.h"

#include "decimal.h"

namespace atl::hv {

std::optional<uint32_t> parse_u32(const std::string& text) {
  auto v = parse_decimal(text, 0, UINT32_MAX);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
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
