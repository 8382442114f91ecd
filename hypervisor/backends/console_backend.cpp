#include "console_backend.h"

#include <unistd.h>
#include <xen/grant_table.h>
#include <xen/io/console.h>

#include <cerrno>

#include "console_ring.h"

namespace atl::hv {
namespace {

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
  char buf[sizeof intf->out];
  std::optional<size_t> read = read_console_output(*intf, buf);
  if (!read) {
    // Hostile indices: stop reading this ring rather than print garbage forever.
    m_broken = true;
    m_domain.log("console: output ring indices are corrupt; console disconnected");
    return;
  }
  size_t n = *read;
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
  std::optional<size_t> written = write_console_input(*intf, m_pending_input);
  if (!written) {
    m_broken = true;
    m_domain.log("console: input ring indices are corrupt; console disconnected");
    return;
  }
  size_t n = *written;
  if (!n) return;
  m_pending_input.erase(0, n);
  m_domain.notify_guest(m_port);
}

}  // namespace atl::hv
