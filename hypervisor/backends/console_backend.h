// The PV console backend (xen/io/console.h, struct xencons_interface): drains the
// guest's output ring to the user's terminal (and an optional log file) and feeds
// the terminal's input into the guest's input ring. It reaches the ring page only
// through its grant (GNTTAB_RESERVED_CONSOLE), mapped for the domain's lifetime.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "atoll/types.h"
#include "domain.h"

namespace atl::hv {

class ConsoleBackend {
 public:
  struct Sinks {
    int out_fd = 1;   // the terminal
    int log_fd = -1;  // optional copy of everything the guest prints
    // Instead of out_fd when set: a daemon keeps the output for whoever
    // attaches later.
    std::function<void(const char* data, size_t length)> out;
  };
  static std::unique_ptr<ConsoleBackend> try_create(Domain& domain, Sinks sinks, std::string& error);
  ~ConsoleBackend();

  // Terminal input for the guest; buffered while its ring is full.
  void push_input(const char* data, size_t length);
  // Drains the output ring (the guest notified, or the domain is ending).
  void drain();
  uint64_t bytes_out() const { return m_bytes_out; }

 private:
  ConsoleBackend(Domain& domain, Sinks sinks) : m_domain(domain), m_sinks(sinks) {}
  void on_guest_notify();
  void deliver_input();

  Domain& m_domain;
  Sinks m_sinks;
  uint64_t m_map_handle = 0;
  uint8_t* m_page = nullptr;
  EvtchnPort m_port{0};
  std::string m_pending_input;
  uint64_t m_bytes_out = 0;
  bool m_broken = false;
};

}  // namespace atl::hv
