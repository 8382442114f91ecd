#include "console_backend.h"

#include <unistd.h>
#include <xen/grant_table.h>
#include <xen/io/console.h>

#include <cerrno>

#include "atoll/byte_ring.h"

namespace atl::hv {
namespace {

// ABI: xen/io/console.h: in[1024], out[2048], then the four indices.
static_assert(sizeof(xencons_interface::in) == 1024 && sizeof(xencons_interface::out) == 2048);

void write_all(int fd, const char* data, size_t length) {
  while (length) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal went away; the guest keeps running
    data += n;
    length -= n;
  }
}

}  // namespace

std::unique_ptr<ConsoleBackend> ConsoleBackend::try_create(Domain& domain, Sinks sinks, std::string& error) {
  std::unique_ptr<ConsoleBackend> b(new ConsoleBackend(domain, std::move(sinks)));
  auto map = domain.gnttab().map(GrantRef(GNTTAB_RESERVED_CONSOLE), DomId(0), true);
  if (!map.ok()) { error = "cannot map the console ring's grant"; return nullptr; }
  b->m_map_handle = map->handle;
  b->m_page = map->page.data();
  auto port = domain.connect_backend_port([raw = b.get()] { raw->on_guest_notify(); });
  if (!port.ok()) { error = "cannot allocate the console event channel"; return nullptr; }
  b->m_port = *port;
  domain.set_console(hosted::kConsolePageGpa >> 12, *port);
  domain.on_end([raw = b.get()] { raw->drain(); });
  return b;
}

ConsoleBackend::~ConsoleBackend() {
  if (m_map_handle) m_domain.gnttab().unmap(m_map_handle);
}

void ConsoleBackend::drain() {
  if (m_broken) return;
  auto* intf = reinterpret_cast<xencons_interface*>(m_page);
  ByteRingView<sizeof intf->out> out(intf->out, &intf->out_cons, &intf->out_prod);
  if (!out.sane()) {
    // Hostile indices: stop reading this ring rather than print garbage forever.
    m_broken = true;
    m_domain.log("console: output ring indices are corrupt; console disconnected");
    return;
  }
  char buf[sizeof intf->out];
  size_t n = out.read(buf, sizeof buf);
  if (!n) return;
  m_bytes_out += n;
  if (m_sinks.out) m_sinks.out(buf, n);
  else write_all(m_sinks.out_fd, buf, n);
  if (m_sinks.log_fd >= 0) write_all(m_sinks.log_fd, buf, n);
}

void ConsoleBackend::on_guest_notify() {
  drain();
  deliver_input();
}

void ConsoleBackend::push_input(const char* data, size_t length) {
  m_pending_input.append(data, length);
  deliver_input();
}

void ConsoleBackend::deliver_input() {
  if (m_broken || m_pending_input.empty()) return;
  auto* intf = reinterpret_cast<xencons_interface*>(m_page);
  ByteRingView<sizeof intf->in> in(intf->in, &intf->in_cons, &intf->in_prod);
  if (!in.sane()) {
    m_broken = true;
    m_domain.log("console: input ring indices are corrupt; console disconnected");
    return;
  }
  size_t n = in.write(m_pending_input.data(), m_pending_input.size());
  if (!n) return;
  m_pending_input.erase(0, n);
  m_domain.notify_guest(m_port);
}

}  // namespace atl::hv
