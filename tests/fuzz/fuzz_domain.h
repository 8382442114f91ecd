// A whole Domain for the fuzz targets of hypercall arguments: built as any
// other (image, start_info, shared_info, reserved grants) but never started,
// its hypercalls served by Domain::hypercall_in_process, the same dispatch
// and checked accessor a guest process's hypercalls meet. The input plays the
// guest: it writes its memory and grant entries straight into the domain's
// memfds, as guest code would, and names them by guest address.
//
// One domain serves every input, and each input meets it exactly as built, so
// an input replays alone: before the next input its guest RAM and hypervisor
// frames (shared_info, grant frames) are copied back from a snapshot taken
// when it was built, and the script says whether the state the hypervisor
// keeps outside that memory (event channels, the timer, the grant table's
// size and pins) is still as built; when it is not, the domain is built
// anew. A grown grant table is the exception: it is replaced in place by a
// new one (reset_grant_table()). A new domain per input (memfds, the image,
// the unmapping's TLB shootdowns) cost gnttab-copy 1.5 ms of CPU an input
// and multicall 0.75 ms; then 0.45 and 0.21 (libFuzzer -runs=3000 and 2000
// -seed=1 from the seeds); gnttab-copy 0.16 since the table is put back.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <xen/event_channel.h>
#include <xen/xen.h>

#include "atoll/hosted_abi.h"
#include "domain.h"
#include "elf_builder.h"
#include "event_loop.h"
#include "fuzz_input.h"

namespace atl::fuzz {

// The contents of a memfd as they were, kept as its populated pages only
// (SEEK_DATA: every other page reads as zeros), and put back the same way:
// pages populated since are zeroed, the kept ones copied back. Reading or
// writing every page instead faults a fresh domain's whole memory in.
class MemfdSnapshot {
 public:
  MemfdSnapshot() = default;
  MemfdSnapshot(int fd, const uint8_t* base, uint64_t size) : m_kept(size / hosted::kPageSize) {
    for_each_page(fd, size, [&](uint64_t page) {
      m_kept[page] = true;
      m_pages.emplace_back(page, std::vector<uint8_t>(base + page * hosted::kPageSize,
                                                      base + (page + 1) * hosted::kPageSize));
    });
  }
  void restore(int fd, uint8_t* base, uint64_t size) {
    for (uint64_t page : populated(fd, size))
      if (!m_kept[page]) std::memset(base + page * hosted::kPageSize, 0, hosted::kPageSize);
    for (auto& [page, bytes] : m_pages) std::memcpy(base + page * hosted::kPageSize, bytes.data(), bytes.size());
  }

 private:
  template <typename F>
  static void for_each_page(int fd, uint64_t size, F f) {
    off_t at = 0;
    for (;;) {
      off_t data = lseek(fd, at, SEEK_DATA);
      if (data < 0 || static_cast<uint64_t>(data) >= size) return;  // ENXIO: no data past `at`
      off_t hole = lseek(fd, data, SEEK_HOLE);
      if (hole < 0) abort();
      for (uint64_t page = data / hosted::kPageSize; page * hosted::kPageSize < static_cast<uint64_t>(hole); ++page) f(page);
      at = hole;
    }
  }

  // The populated pages. Nothing punches holes in guest memory (pages are
  // only ever added until the memfd is closed), so while the memfd's block
  // count is what it was at the last scan, so are its pages: one fstat
  // instead of two lseeks an extent (a sixth of gnttab-copy's time).
  const std::vector<uint64_t>& populated(int fd, uint64_t size) {
    struct stat st;
    if (fstat(fd, &st) != 0) abort();
    if (st.st_blocks != m_scanned_blocks) {
      m_populated.clear();
      for_each_page(fd, size, [&](uint64_t page) { m_populated.push_back(page); });
      m_scanned_blocks = st.st_blocks;
    }
    return m_populated;
  }

  std::vector<bool> m_kept;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> m_pages;
  std::vector<uint64_t> m_populated;
  blkcnt_t m_scanned_blocks = -1;
};

class FuzzDomain {
 public:
  static constexpr uint64_t kMemory = 2ULL << 20;  // the image 1 MiB in, and a heap
  static constexpr uint64_t kPages = kMemory / hosted::kPageSize;
  // Where the inputs put hypercall arguments and data: guest pages clear of
  // the image.
  static constexpr uint64_t kArgsGpa = 0x180000;
  static constexpr uint64_t kDataGpa = 0x190000;
  static constexpr unsigned kDataPages = 16;
  static constexpr uint16_t kDomid = 1;

  FuzzDomain() { rebuild(); }
  hv::Domain& domain() { return *m_domain; }

  // A new domain, and the snapshot of its memory as built.
  void rebuild() {
    m_domain.reset();
    std::string error;
    m_domain = hv::Domain::try_create(loop(), config(), image(), kDomid, error);
    if (!m_domain) abort();
    m_ram0 = MemfdSnapshot(memory().ram_fd(), ram(), kMemory);
    m_frames0 = MemfdSnapshot(memory().frames_fd(), frames(), kFramesBytes);
    m_channels0 = channels();
    m_built_ports.clear();
    for (uint32_t port = 0; port < hv::EvtchnTable::kMaxPorts; ++port)
      if (m_domain->evtchn().lookup(EvtchnPort(port))) m_built_ports.insert(port);
  }
  // Its memory as built (the state outside memory is the script's to check).
  void restore() {
    m_ram0.restore(memory().ram_fd(), ram(), kMemory);
    m_frames0.restore(memory().frames_fd(), frames(), kFramesBytes);
  }
  // The grant table as built. setup_table only grows a table, so a grown one
  // is replaced in place by a new one, which is what the build left: the
  // build only writes entries, and they live in the frames restore() puts
  // back. A new domain for every input that grew the table was half of
  // gnttab-copy's time.
  void reset_grant_table() {
    hv::GrantTable& t = m_domain->gnttab();
    if (t.mapping_count() != 0) abort();
    std::destroy_at(&t);
    std::construct_at(&t, m_domain->memory(), DomId(kDomid));
  }
  // Every event channel (state, peer, virq, vcpu) and every virq's port as
  // when built.
  bool channels_as_built() const { return channels() == m_channels0; }
  // The ports open now that were free when built, closed as a guest closes
  // them (EVTCHNOP_close): the domain is then as built unless the input
  // changed a port it was built with (a new domain for every input that
  // opened one was 30 % of multicall's time).
  void close_new_channels() {
    const hv::EvtchnTable& t = m_domain->evtchn();
    for (uint32_t port = 0; port < hv::EvtchnTable::kMaxPorts; ++port) {
      if (!t.lookup(EvtchnPort(port)) || m_built_ports.count(port)) continue;
      evtchn_close_t close{port};
      std::memcpy(at(kArgsGpa, sizeof close), &close, sizeof close);
      auto r = hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close, gva(kArgsGpa));
      if (!r || *r != 0) abort();
    }
  }

  // Host view of guest-physical `gpa`, `length` bytes, through the checked accessor.
  uint8_t* at(uint64_t gpa, uint64_t length = 1) {
    auto s = m_domain->memory().span(hosted::gpa_to_va(gpa), length);
    if (!s) abort();
    return s->data();
  }
  static uint64_t gva(uint64_t gpa) { return hosted::gpa_to_va(gpa); }

  std::optional<long> hypercall(unsigned op, uint64_t a1, uint64_t a2 = 0, uint64_t a3 = 0) {
    return m_domain->hypercall_in_process(op, {a1, a2, a3, 0, 0});
  }

 private:
  static constexpr uint64_t kFramesBytes = hosted::kHvFramesCount * hosted::kPageSize;
  hv::GuestMemory& memory() { return m_domain->memory(); }
  uint8_t* ram() { return m_domain->memory().ram_at(0); }
  uint8_t* frames() { return m_domain->memory().frame(0); }

  std::vector<uint32_t> channels() const {
    std::vector<uint32_t> out;
    const hv::EvtchnTable& t = m_domain->evtchn();
    for (uint32_t port = 0; port < hv::EvtchnTable::kMaxPorts; ++port)
      if (const hv::Channel* c = t.lookup(EvtchnPort(port)))
        out.insert(out.end(), {port, static_cast<uint32_t>(c->state), c->remote_domid, c->remote_port, c->virq, c->vcpu});
    for (uint32_t virq = 0; virq < NR_VIRQS; ++virq) out.push_back(t.virq_port(virq) ? t.virq_port(virq)->value() : ~0u);
    return out;
  }

  static hv::EventLoop& loop() {
    static hv::EventLoop l;
    return l;
  }
  static const hv::ElfImage& image() {
    static std::vector<uint8_t> bytes = hv::elf_builder::ImageBuilder::good().build();
    static std::optional<hv::ElfImage> img = [] {
      std::string error;
      auto i = hv::ElfImage::try_parse(bytes, error);
      if (!i) abort();
      return i;
    }();
    return *img;
  }
  static hv::DomainConfig config() {
    hv::DomainConfig c;
    c.name = "fuzz";
    c.memory = kMemory;
    return c;
  }

  std::unique_ptr<hv::Domain> m_domain;
  MemfdSnapshot m_ram0, m_frames0;
  std::vector<uint32_t> m_channels0;
  std::set<uint32_t> m_built_ports;
};

// A target's script over the domain: the input, the domain, and the entry
// point that runs one (Script::run()) per input, then brings the domain back
// as built: Script::left_as_built() says whether the state outside memory
// is; if not, a new domain.
class DomainScript {
 protected:
  DomainScript(FuzzInput& in, FuzzDomain& d) : m_in(in), m_d(d) {}
  FuzzInput& m_in;
  FuzzDomain& m_d;
};

template <typename Script>
int run_domain_script(const uint8_t* data, size_t size) {
  static FuzzDomain d;
  FuzzInput in(data, size);
  Script script(in, d);
  script.run();
  if (script.left_as_built()) d.restore();
  else d.rebuild();
  return 0;
}

}  // namespace atl::fuzz
