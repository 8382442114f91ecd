// The frontend's side of the xenbus handshake; docs/xenbus.md is the prose form
// of the rules below, and tests/unit/xenstore_client drives them with a fake backend.
#include "atoll/xenbus_frontend.h"

namespace atl::xs {

const char* state_name(XenbusState state) {
  switch (state) {
    case XenbusStateUnknown: return "Unknown";
    case XenbusStateInitialising: return "Initialising";
    case XenbusStateInitWait: return "InitWait";
    case XenbusStateInitialised: return "Initialised";
    case XenbusStateConnected: return "Connected";
    case XenbusStateClosing: return "Closing";
    case XenbusStateClosed: return "Closed";
    case XenbusStateReconfiguring: return "Reconfiguring";
    case XenbusStateReconfigured: return "Reconfigured";
  }
  return "(invalid)";
}

namespace {

// A backend in these states holds no mapping of our rings: what backend_ready()
// set up may be freed.
bool backend_idle(std::optional<XenbusState> backend) {
  return !backend || *backend == XenbusStateUnknown || *backend == XenbusStateInitialising ||
         *backend == XenbusStateInitWait || *backend == XenbusStateClosed;
}

}  // namespace

void XenbusFrontend::start() {
  m_started = true;
  publish(XenbusStateInitialising);
  if (m_backend) backend_changed(m_backend);
}

void XenbusFrontend::backend_changed(std::optional<XenbusState> backend) {
  m_backend = backend;
  if (!m_started) return;
  if (!backend) return on_closed_or_gone();
  switch (*backend) {
    case XenbusStateInitialising:
    case XenbusStateClosed:
      return on_closed_or_gone();
    case XenbusStateInitWait:
      return on_init_wait();
    case XenbusStateConnected:
      return on_connected();
    case XenbusStateClosing:
      return on_closing();
    default:
      return;  // Unknown, Initialised, Reconfiguring/-ed: nothing for a frontend to do
  }
}

// The backend waits for our rings. If we already answered and it has not
// connected since, this is the same InitWait seen twice.
void XenbusFrontend::on_init_wait() {
  bool answered = m_resources && !m_io && (m_state == XenbusStateInitialised || m_state == XenbusStateConnected);
  if (answered) return;
  tear_down();  // a backend back at InitWait has let go of any earlier connection
  if (!m_want_up) {
    if (m_state != XenbusStateClosed) publish(XenbusStateClosed);
    return;
  }
  if (m_state != XenbusStateInitialising) publish(XenbusStateInitialising);
  bring_up();
}

void XenbusFrontend::on_connected() {
  if (m_resources && (m_state == XenbusStateInitialised || (m_state == XenbusStateConnected && !m_io))) {
    auto connected = m_actions.connect();
    if (!connected.ok()) return fail(connected.error());
    m_io = true;
    if (m_state != XenbusStateConnected) publish(XenbusStateConnected);
    return;
  }
  // Connected to rings that are not ours (a frontend before us): make it let go;
  // its Closing/Closed then brings us round to Initialising.
  if (m_state == XenbusStateInitialising || m_state == XenbusStateClosed) publish(XenbusStateClosing);
}

void XenbusFrontend::on_closing() {
  if (m_io) {
    m_io = false;
    m_actions.disconnect();
  }
  // Resources stay until the backend is Closed: it may still map our rings.
  if (m_state != XenbusStateClosed) publish(XenbusStateClosed);
}

// Closed, restarting (Initialising) or gone: nothing of ours is mapped any more.
// Unless we are shutting down, wait for the backend as a fresh frontend would.
void XenbusFrontend::on_closed_or_gone() {
  tear_down();
  XenbusState target = m_want_up ? XenbusStateInitialising : XenbusStateClosed;
  if (m_state != target) publish(target);
}

void XenbusFrontend::close() {
  m_want_up = false;
  if (!m_started || m_state == XenbusStateClosing || m_state == XenbusStateClosed) {
    if (m_io) {
      m_io = false;
      m_actions.disconnect();
    }
    return;
  }
  go_down();
}

void XenbusFrontend::reopen() {
  m_want_up = true;
  m_error.reset();
  // Closing or waiting for the backend to close: its Closed brings us back.
  if (!m_started || m_state != XenbusStateClosed || !backend_idle(m_backend)) return;
  tear_down();
  publish(XenbusStateInitialising);
  if (m_backend == XenbusStateInitWait) bring_up();
}

void XenbusFrontend::bring_up() {
  // Counted before the call: release() follows even a failed backend_ready(), so
  // the driver frees what it had set up in one place.
  m_resources = true;
  auto ready = m_actions.backend_ready();
  if (!ready.ok()) return fail(ready.error());
  publish(m_handshake == Handshake::kViaInitialised ? XenbusStateInitialised : XenbusStateConnected);
}

void XenbusFrontend::tear_down() {
  if (m_io) {
    m_io = false;
    m_actions.disconnect();
  }
  if (m_resources) {
    m_resources = false;
    m_actions.release();
  }
}

// Stops I/O and closes: straight to Closed when the backend holds nothing of
// ours, else Closing, to be finished when the backend follows. Once our rings
// are offered (Initialised or Connected published) the backend may be mapping
// them whatever state we last saw it in, so only its Closing/Closed frees them.
void XenbusFrontend::go_down() {
  if (m_io) {
    m_io = false;
    m_actions.disconnect();
  }
  bool offered = m_resources && (m_state == XenbusStateInitialised || m_state == XenbusStateConnected);
  if (!offered && backend_idle(m_backend)) {
    tear_down();
    if (m_state != XenbusStateClosed) publish(XenbusStateClosed);
  } else if (m_state != XenbusStateClosing) {
    publish(XenbusStateClosing);
  }
}

void XenbusFrontend::fail(Errno error) {
  m_error = error;
  m_want_up = false;
  go_down();
}

void XenbusFrontend::publish(XenbusState state) {
  m_state = state;
  auto written = m_actions.publish_state(state);
  if (written.ok()) return;
  // The backend cannot hear us (most likely the toolstack removed the device):
  // stop trying, and free what no backend can be using.
  if (!m_error) m_error = written.error();
  m_want_up = false;
  if (backend_idle(m_backend)) tear_down();
}

}  // namespace atl::xs
