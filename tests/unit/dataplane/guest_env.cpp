#include "guest_env.h"

#include <sys/mman.h>
#include <time.h>
#include <xen/event_channel.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "atoll/evtchn_bits.h"
#include "atoll/gnttab.h"
#include "atoll/hosted_abi.h"
#include "elf_builder.h"

namespace atl::dataplane {
namespace {

using namespace hosted;

// Maps `fd` at the guest address `va` as the guest process's loader does;
// never over anything already there.
bool map_at(uint64_t va, size_t length, int fd, std::string& error) {
  void* p = mmap(reinterpret_cast<void*>(va), length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
  if (p == reinterpret_cast<void*>(va)) return true;
  if (p != MAP_FAILED) munmap(p, length);
  char text[128];
  snprintf(text, sizeof text, "cannot map guest memory at its guest address 0x%llx (something else is there)",
           static_cast<unsigned long long>(va));
  error = text;
  return false;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

GuestEnv* GuestEnv::try_get(std::string& error, bool* address_taken) {
  static GuestEnv* env;
  static std::string failure;
  static bool taken = false;
  if (address_taken) *address_taken = taken;
  if (env) return env;
  if (!failure.empty()) {
    error = failure;
    return nullptr;
  }
  // Never destroyed: the frontends' kernel state (grant allocator, bound
  // ports) lives as long as the process, as in a guest. It is reachable
  // before the guest boots, whose kernel code calls back into it.
  auto* fresh = new GuestEnv;
  if (fresh->init_host(failure, taken)) {
    env = fresh;
    if (fresh->boot(failure)) return env;
    env = nullptr;
  }
  if (address_taken) *address_taken = taken;
  error = failure;
  return nullptr;
}

GuestEnv& GuestEnv::get() {
  std::string error;
  GuestEnv* env = try_get(error);
  if (!env) {
    fprintf(stderr, "dataplane: %s\n", error.c_str());
    abort();
  }
  return *env;
}

bool GuestEnv::init_host(std::string& error, bool& address_taken) {
  // A stand-in image: the domain is never started, but it is built as any
  // other (start_info, shared_info, reserved grants).
  m_image_bytes = hv::elf_builder::ImageBuilder::good().build();
  m_image = hv::ElfImage::try_parse(m_image_bytes, error);
  if (!m_image) return false;
  m_store = std::make_unique<hv::xs::Xenstored>(m_loop);
  hv::DomainConfig config;
  config.name = "dataplane";
  config.memory = kMemory;
  config.verbose = getenv("ATOLL_DATAPLANE_VERBOSE") != nullptr;
  m_domain = hv::Domain::try_create(m_loop, config, *m_image, kDomid, error);
  if (!m_domain) return false;
  hv::GuestMemory& mem = m_domain->memory();
  if (!map_at(kGuestBase, kMemory, mem.ram_fd(), error)) {
    address_taken = true;
    return false;
  }
  // The hypervisor's frames (shared_info, the grant table) sit 4 GiB up in
  // the guest's address space, where a sanitizer keeps its shadow; they are
  // reached only through platform::phys_to_virt(), so anywhere will do.
  void* frames = mmap(nullptr, kHvFramesCount * kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, mem.frames_fd(), 0);
  if (frames == MAP_FAILED) {
    error = "cannot map the hypervisor frames";
    return false;
  }
  m_frames = static_cast<uint8_t*>(frames);
  m_used.assign((kMemory - kHeapStartGpa) / kPageSize, false);
  m_args = static_cast<uint8_t*>(alloc_pages(kPageSize, kPageSize));
  m_link = hv::XenstoreLink::try_create(*m_domain, *m_store, error);
  return m_link != nullptr;
}

bool GuestEnv::boot(std::string& error) {
  // The guest's boot: its grant table, then its xenstore connection from
  // what start_info names, as xs_boot.cpp does.
  if (!gnttab::init().ok()) {
    error = "the guest's grant table did not set up";
    return false;
  }
  auto* si = reinterpret_cast<start_info_t*>(gpa_to_va(kStartInfoGpa));
  auto* ring = reinterpret_cast<xenstore_domain_interface*>(gpa_to_va(si->store_mfn << 12));
  m_transport = std::make_unique<xs::RingTransport>(ring, EvtchnPort(si->store_evtchn));
  m_client = std::make_unique<xs::Client>(*m_transport);
  m_transport->bind();
  return true;
}

shared_info* GuestEnv::shared() const { return reinterpret_cast<shared_info*>(phys_to_virt(kHvFramesGpa)); }

void* GuestEnv::phys_to_virt(uint64_t gpa) const {
  if (gpa >= kHvFramesGpa) return m_frames + (gpa - kHvFramesGpa);
  return reinterpret_cast<void*>(gpa_to_va(gpa));
}

uint64_t GuestEnv::virt_to_phys(const void* va) const {
  auto at = reinterpret_cast<const uint8_t*>(va);
  if (at >= m_frames && at < m_frames + kHvFramesCount * kPageSize) return kHvFramesGpa + (at - m_frames);
  return reinterpret_cast<uint64_t>(va) - kGuestBase;
}

long GuestEnv::hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3) {
  auto r = m_domain->hypercall_in_process(op, {a1, a2, a3, 0, 0});
  if (!r) {
    fprintf(stderr, "dataplane: hypercall %u blocked or ended the domain\n", op);
    abort();
  }
  return *r;
}

void* GuestEnv::alloc_pages(size_t bytes, size_t align) {
  size_t pages = (bytes + kPageSize - 1) / kPageSize;
  size_t step = align > kPageSize ? align / kPageSize : 1;
  if (pages == 0) pages = 1;
  for (size_t first = 0; first + pages <= m_used.size(); first += step) {
    size_t n = 0;
    while (n < pages && !m_used[first + n]) ++n;
    if (n < pages) continue;
    for (size_t i = 0; i < pages; ++i) m_used[first + i] = true;
    uintptr_t va = gpa_to_va(kHeapStartGpa + first * kPageSize);
    m_blocks[va] = pages;
    return reinterpret_cast<void*>(va);
  }
  return nullptr;
}

void GuestEnv::free_pages(void* va) {
  if (!va) return;
  auto it = m_blocks.find(reinterpret_cast<uintptr_t>(va));
  if (it == m_blocks.end()) {
    fprintf(stderr, "dataplane: free of %p, which the guest heap never gave out\n", va);
    abort();
  }
  size_t first = (it->first - gpa_to_va(kHeapStartGpa)) / kPageSize;
  for (size_t i = 0; i < it->second; ++i) m_used[first + i] = false;
  m_blocks.erase(it);
}

size_t GuestEnv::pages_in_use() const {
  size_t n = 0;
  for (auto& [va, pages] : m_blocks) n += pages;
  return n;
}

void GuestEnv::bind(EvtchnPort port, Handler handler, void* data) {
  m_handlers[port.value()] = {handler, data};
  auto* op = args<evtchn_unmask>();
  op->port = port.value();
  hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_unmask, reinterpret_cast<uint64_t>(op));
}

void GuestEnv::unbind(EvtchnPort port) { m_handlers.erase(port.value()); }

void GuestEnv::deliver_events() {
  shared_info* s = shared();
  evtchn_bits::consume(s, &s->vcpu_info[0], [this](unsigned port) {
    auto it = m_handlers.find(port);
    if (it != m_handlers.end()) it->second.first(EvtchnPort(port), it->second.second);
  });
}

void GuestEnv::idle(int max_wait_ms) {
  std::vector<EvtchnPort> deferred;
  deferred.swap(m_deferred);
  for (EvtchnPort port : deferred) {
    auto* op = args<evtchn_send>();
    op->port = port.value();
    ++m_events_sent;
    hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, reinterpret_cast<uint64_t>(op));
  }
  bool pending = __atomic_load_n(&shared()->vcpu_info[0].evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0;
  m_loop.run_once(pending || !deferred.empty() ? 0 : max_wait_ms);
  deliver_events();
  if (!m_in_watches) {
    m_in_watches = true;
    (void)m_client->pump();
    m_client->dispatch_watch_events();
    m_in_watches = false;
  }
}

bool GuestEnv::run_until(const std::function<bool()>& done, int timeout_ms) {
  uint64_t deadline = now_ns() + uint64_t(timeout_ms) * 1'000'000;
  while (!done()) {
    if (now_ns() > deadline) return false;
    idle();
  }
  return true;
}

}  // namespace atl::dataplane
