// blkback's xenstore side: opening the disk, the vbd directories and keys, and
// the backend half of the xenbus handshake (docs/xenbus.md): InitWait, connect
// when the frontend is Initialised (or Connected), follow its Closing/Closed,
// and offer InitWait again when a closed frontend comes back to Initialising.
#include "blkback_xenbus.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/io/protocols.h>

#include <cerrno>
#include <cstring>

#include "blkback.h"

namespace atl::hv {

std::map<std::string, std::string> blkback_keys(const DiskGeometry& disk, unsigned max_queues,
                                                unsigned max_ring_page_order) {
  std::map<std::string, std::string> keys = {
      {"sectors", std::to_string(disk.sectors)},
      {"sector-size", "512"},
      {"physical-sector-size", "4096"},
      {"info", std::to_string(disk.read_only ? VDISK_READONLY : 0)},
      {"feature-flush-cache", "1"},
      // Pages the frontend grants persistently stay mapped (256 per device).
      {"feature-persistent", "1"},
      {"feature-max-indirect-segments", std::to_string(BlkBack::kMaxIndirectSegments)},
      // Barriers: every earlier request first, then the write and fdatasync,
      // and no later request before it completes.
      {"feature-barrier", "1"},
      // Rings of up to 2^order contiguous pages, and one ring per queue.
      {"max-ring-page-order", std::to_string(max_ring_page_order)},
      {"multi-queue-max-queues", std::to_string(max_queues)},
      {"mode", disk.read_only ? "r" : "w"},
      {"type", "file"},
  };
  if (!disk.read_only) {
    // Discards punch holes in the image file, one 4 KiB file-system block at a
    // time where aligned (the rest is zeroed); secure erase is not offered.
    keys["feature-discard"] = "1";
    keys["discard-granularity"] = "4096";
    keys["discard-alignment"] = "0";
    keys["discard-secure"] = "0";
  }
  return keys;
}

namespace {

std::optional<uint32_t> parse_optional_u32(const std::optional<std::string>& text) {
  return text ? parse_u32(*text) : std::nullopt;
}

Result<FrontendQueue> parse_queue(const FrontendKeys& key, const std::string& prefix, std::optional<unsigned> order) {
  FrontendQueue q;
  auto port_text = key(prefix + "event-channel");
  if (!port_text) return Errno::kNoEnt;
  auto port = parse_u32(*port_text);
  if (!port) return Errno::kInval;
  q.port = EvtchnPort(*port);
  unsigned pages = order ? 1u << *order : 1u;
  for (unsigned i = 0; i < pages; ++i) {
    auto text = key(prefix + (order ? "ring-ref" + std::to_string(i) : std::string("ring-ref")));
    if (!text) return Errno::kNoEnt;
    auto ref = parse_u32(*text);
    if (!ref) return Errno::kInval;
    q.ring_refs.push_back(GrantRef(*ref));
  }
  return q;
}

}  // namespace

Result<FrontendRings> parse_frontend_rings(const FrontendKeys& key, unsigned max_queues,
                                           unsigned max_ring_page_order) {
  auto protocol = key("protocol");
  if (protocol && *protocol != XEN_IO_PROTO_ABI_X86_64) return Errno::kOpNotSupp;
  auto order_text = key("ring-page-order");
  std::optional<uint32_t> order = parse_optional_u32(order_text);
  if (order_text && (!order || *order > max_ring_page_order)) return Errno::kInval;
  auto queues_text = key("multi-queue-num-queues");
  std::optional<uint32_t> queues = parse_optional_u32(queues_text);
  if (queues_text && (!queues || *queues == 0 || *queues > max_queues)) return Errno::kInval;
  FrontendRings rings;
  rings.ring_page_order = order.value_or(0);
  unsigned n = queues.value_or(1);
  for (unsigned i = 0; i < n; ++i) {
    auto q = parse_queue(key, n == 1 ? std::string() : "queue-" + std::to_string(i) + "/", order);
    if (!q.ok()) return q.error();
    rings.queues.push_back(std::move(q.value()));
  }
  return rings;
}

std::unique_ptr<BlkBack> BlkBack::try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const DiskConfig& disk, uint32_t devid, std::string& error) {
  int flags = (disk.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  int fd = open(disk.path.c_str(), flags | (disk.direct ? O_DIRECT : 0));
  if (fd < 0 && disk.direct && errno == EINVAL) {
    // tmpfs and some others refuse O_DIRECT: say so and use the page cache.
    fprintf(stderr, "atoll: disk %s: the file system refuses O_DIRECT; using buffered I/O\n", disk.path.c_str());
    fd = open(disk.path.c_str(), flags);
  }
  if (fd < 0) {
    error = "cannot open disk " + disk.path + (disk.read_only ? "" : " for writing") + ": " + strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    error = "disk " + disk.path + " is not a regular file";
    return nullptr;
  }
  if (st.st_size < 512) {
    close(fd);
    error = "disk " + disk.path + " is smaller than one 512-byte sector";
    return nullptr;
  }
  // Trailing bytes past the last whole sector are not part of the disk.
  DiskGeometry geometry{static_cast<uint64_t>(st.st_size) / 512, disk.read_only};
  std::unique_ptr<BlkBack> b(new BlkBack(domain, store, loop, fd, geometry, devid));
  b->m_max_queues = disk.queues;
  if (!b->setup_uring(error)) return nullptr;
  auto keys = blkback_keys(geometry, disk.queues);
  keys["params"] = disk.path;
  b->publish(keys, {{"virtual-device", std::to_string(devid)}, {"device-type", "disk"}});
  return b;
}

BlkBack::~BlkBack() {
  m_domain.log("blkback: vbd %u: %llu requests (%llu through registered guest RAM); flushes: %llu as one "
               "RWF_DSYNC write, %llu with nothing to sync",
               m_devid, static_cast<unsigned long long>(m_served), static_cast<unsigned long long>(m_fixed_io),
               static_cast<unsigned long long>(m_dsync_writes), static_cast<unsigned long long>(m_flushes_elided));
  disconnect();
  if (m_inflight) m_loop.hold_busy_poll(-static_cast<int>(m_inflight));  // never completed
  if (m_uring_ok) {
    m_loop.remove_fd(m_uring.ring_fd);
    io_uring_queue_exit(&m_uring);
  }
  close(m_fd);
}

Result<void> BlkBack::connect_from_keys() {
  auto key = [this](const std::string& name) -> std::optional<std::string> {
    auto v = m_store.read(m_fe_path + "/" + name);
    if (!v.ok()) return std::nullopt;
    return v.value();
  };
  auto rings = parse_frontend_rings(key, m_max_queues);
  if (!rings.ok()) return rings.error();
  auto persistent = key("feature-persistent");
  m_persistent = persistent && *persistent == "1";
  return connect_rings(*rings);
}

void BlkBack::on_connected() {
  consume_all();  // requests queued before we connected
  push_responses();
}

}  // namespace atl::hv
