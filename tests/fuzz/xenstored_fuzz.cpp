// libFuzzer target for the xenstore daemon's request parser and handlers.
//
// The input is a little script of operations, so one input can interleave
// several clients: byte streams from domain 0 and two guests (as on the
// socket), and a guest ring whose indices the input may set to anything.
//
//   op & 7 = 0..2  stream chunk for client op (dom0, dom1, dom2): len, bytes
//            3     bytes into the ring guest's request ring: len, bytes
//            4     the ring guest notifies
//            5     the ring guest sets an index: which (req_cons, req_prod,
//                  rsp_cons, rsp_prod), 4 bytes little-endian
//            6     the ring guest reads its responses
//            7     the ring guest asks to reconnect
//
// After every input the tree's invariants must hold (NodeStore::consistent());
// anything else (crash, leak, UB, hang) is for the sanitizers and libFuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "atoll/byte_ring.h"
#include "xenstored_core.h"
#include "xs_ring.h"

namespace atl::hv::xs {
namespace {

// A client whose replies are read and dropped; a broken stream is a
// disconnect, after which the client starts afresh (as a new connection would).
class StreamClient : public Connection {
 public:
  StreamClient(Core& core, DomId domid) : Connection(domid, core.flush_list()), m_core(core) {
    set_output_limit(core.options().max_output_bytes);
  }
  ~StreamClient() override { m_core.disconnect(*this); }
  void flush() override { consumed(pending_output()); }

  void feed(const uint8_t* data, size_t len) {
    while (len > 0) {
      size_t n = m_in.feed(reinterpret_cast<const char*>(data), len);
      data += n;
      len -= n;
      if (m_in.broken() || failed()) {
        m_core.disconnect(*this);
        m_in.reset();
        discard_output();
        return;
      }
      if (m_in.ready()) m_core.handle(*this, m_in.take());
    }
  }

 private:
  Core& m_core;
  MessageAssembler m_in;
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
  bool empty() const { return m_pos >= m_size; }
  uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{byte()} << (8 * i);
    return v;
  }
  // Up to `len` bytes (fewer at the end of the input).
  const uint8_t* take(size_t& len) {
    len = std::min(len, m_size - m_pos);
    const uint8_t* p = m_data + m_pos;
    m_pos += len;
    return p;
  }

 private:
  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

void run(const uint8_t* data, size_t size) {
  XsOptions options;
  options.max_nodes_per_domain = 40;  // small limits, so inputs reach them
  options.max_watches_per_domain = 8;
  options.max_transactions_per_domain = 3;
  options.max_value_bytes = 64;
  options.output_pause_bytes = 2048;
  options.max_output_bytes = 16384;
  Core core(options);
  // The guests' homes, as the toolstack would make them.
  for (uint16_t d : {1, 2, 3}) {
    std::string home = "/local/domain/" + std::to_string(d);
    (void)core.mkdir(kDom0, nullptr, home);
    (void)core.set_perms(kDom0, nullptr, home, Perms{Perm{DomId(d), PermMode::kNone}});
  }
  StreamClient clients[3] = {{core, DomId(0)}, {core, DomId(1)}, {core, DomId(2)}};
  alignas(4096) static char page[4096];
  std::memset(page, 0, sizeof(page));
  auto* intf = reinterpret_cast<xenstore_domain_interface*>(page);
  RingConnection ring(core, DomId(3), page, [] {});
  ByteRingView<XENSTORE_RING_SIZE> req(intf->req, &intf->req_cons, &intf->req_prod);
  ByteRingView<XENSTORE_RING_SIZE> rsp(intf->rsp, &intf->rsp_cons, &intf->rsp_prod);

  Reader in(data, size);
  while (!in.empty()) {
    uint8_t op = in.byte() & 7;
    if (op <= 3) {
      size_t len = in.byte();
      const uint8_t* bytes = in.take(len);
      if (op < 3) clients[op].feed(bytes, len);
      else req.write(bytes, len);
    } else if (op == 4) {
      (void)ring.on_event();
    } else if (op == 5) {
      uint32_t* idx[] = {&intf->req_cons, &intf->req_prod, &intf->rsp_cons, &intf->rsp_prod};
      uint8_t which = in.byte() & 3;
      *idx[which] = in.u32();
    } else if (op == 6) {
      char sink[XENSTORE_RING_SIZE];
      if (rsp.sane()) rsp.read(sink, sizeof(sink));
    } else {
      intf->connection = XENSTORE_RECONNECT;
    }
    core.flush();
  }
  if (!core.store().consistent()) std::abort();
}

}  // namespace
}  // namespace atl::hv::xs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  atl::hv::xs::run(data, size);
  return 0;
}
