// The guest's half of a xenstore ring page, played in-process: writes
// requests into `req`, reads replies and events from `rsp`, as a guest kernel
// does through the same ByteRingView. Used by the ring tests and the benchmark.
#pragma once

#include <cstring>
#include <string>
#include <vector>
#include <xen/io/xs_wire.h>

#include "atoll/byte_ring.h"
#include "xs_wire.h"

namespace atl::hv::xs::test {

class GuestRing {
 public:
  using View = ByteRingView<XENSTORE_RING_SIZE>;

  GuestRing() { std::memset(m_page, 0, sizeof(m_page)); }
  void* page() { return m_page; }
  xenstore_domain_interface* intf() { return reinterpret_cast<xenstore_domain_interface*>(m_page); }
  View req() { return View(intf()->req, &intf()->req_cons, &intf()->req_prod); }
  View rsp() { return View(intf()->rsp, &intf()->rsp_cons, &intf()->rsp_prod); }

  // Queues bytes for the daemon; returns how many fitted.
  size_t send(const std::string& bytes) { return req().write(bytes.data(), bytes.size()); }
  // Takes every reply or event byte available; returns the whole messages.
  std::vector<Message> receive() {
    std::vector<Message> out;
    View r = rsp();
    char buf[XENSTORE_RING_SIZE];
    while (true) {
      size_t n = r.read(buf, std::min<size_t>(m_in.want(), sizeof(buf)));
      if (n == 0) break;
      m_in.feed(buf, n);
      if (m_in.ready()) out.push_back(m_in.take());
    }
    return out;
  }

  int notifications = 0;

 private:
  alignas(4096) char m_page[4096];
  MessageAssembler m_in;
};

inline std::string request(MsgType type, std::string payload, uint32_t req_id = 1, uint32_t tx_id = 0) {
  return encode_message(type, req_id, tx_id, payload);
}

inline std::string path_arg(std::string_view path) {
  std::string s(path);
  s.push_back('\0');
  return s;
}

}  // namespace atl::hv::xs::test
