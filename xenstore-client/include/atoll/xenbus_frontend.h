// The frontend half of the xenbus state handshake (xen/io/xenbus.h), as a pure
// state machine: it is told the backend's state and decides what the frontend
// publishes and which driver step runs. No xenstore in here; XenbusDevice
// (xenbus_device.h) wires it to the store, and unit tests drive it with a fake
// backend. docs/xenbus.md writes the protocol down.
//
//   frontend            backend
//   Initialising   ◀──  InitWait        backend_ready(): rings, grants, keys
//   Initialised    ──▶  Connected       connect(): start I/O       (kViaInitialised)
//   Connected      ◀─▶  Connected
//   Closed         ◀──  Closing         disconnect(): stop I/O
//   Initialising   ◀──  Closed          release(): free rings; then reconnect
#pragma once

#include <optional>

#include <xen/io/xenbus.h>

#include "atoll/result.h"

namespace atl::xs {

// How the frontend says its half is ready. Block backends (Linux blkback) connect
// when the frontend reaches Initialised; net backends (netback) wait for the
// frontend's Connected, so netfront goes straight there.
enum class Handshake { kViaInitialised, kConnectDirectly };

const char* state_name(XenbusState state);

class XenbusFrontend {
 public:
  // What the state machine asks of the world: one call per step.
  class Actions {
   public:
    // Writes <device>/state.
    virtual Result<void> publish_state(XenbusState state) = 0;
    // The backend waits for us (InitWait): set up rings and event channels and
    // publish their keys.
    virtual Result<void> backend_ready() = 0;
    // The backend is connected: read its features, start I/O.
    virtual Result<void> connect() = 0;
    // The backend is going away: stop I/O. Its mappings may still be live.
    virtual void disconnect() = 0;
    // The backend let go (Closed or gone): free rings, grants, event channels.
    virtual void release() = 0;

   protected:
    ~Actions() = default;
  };

  XenbusFrontend(Actions& actions, Handshake handshake) : m_actions(actions), m_handshake(handshake) {}

  // Publishes Initialising and acts on the backend state last seen, if any.
  void start();
  // The backend's state changed; nullopt when its state node is gone.
  void backend_changed(std::optional<XenbusState> backend);
  // An orderly close the driver asked for: Closing, then Closed once the backend
  // follows. No reconnect until reopen().
  void close();
  // Undoes close() or a fatal error: connect again when the backend is willing.
  void reopen();

  XenbusState state() const { return m_state; }
  std::optional<XenbusState> backend_state() const { return m_backend; }
  // Both halves connected and connect() succeeded: I/O may flow.
  bool io_running() const { return m_io; }
  // Driver resources (from backend_ready()) not yet released.
  bool holds_resources() const { return m_resources; }
  // The error that made the device give up (a failed step or state write).
  std::optional<Errno> error() const { return m_error; }

 private:
  void on_init_wait();
  void on_connected();
  void on_closing();
  void on_closed_or_gone();
  void bring_up();
  void tear_down();
  void go_down();
  void fail(Errno error);
  void publish(XenbusState state);

  Actions& m_actions;
  Handshake m_handshake;
  XenbusState m_state = XenbusStateUnknown;  // what we last published
  std::optional<XenbusState> m_backend;
  bool m_started = false;
  bool m_want_up = true;  // false after close() or a fatal error
  bool m_resources = false;
  bool m_io = false;
  std::optional<Errno> m_error;
};

}  // namespace atl::xs
