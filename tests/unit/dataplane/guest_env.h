// One guest domain and the hypervisor side serving it, both in this test
// process: the real Domain (never started: no guest process), its real grant
// table and event channels, the real xenstored and the real backends on one
// EventLoop. The guest half is the real frontend code (netfront, blkfront,
// the xenstore client and its ring transport, the kernel's grant code) over
// the doubles in kernel_doubles.cpp: its hypercalls are in-process calls into
// Domain::hypercall_in_process, and a thread that would sleep instead lets
// the hypervisor's loop run and then takes the events it raised, as the
// guest's idle loop would (one vCPU, cooperative: nothing runs concurrently).
//
// Guest RAM is mapped a second time at the guest's own addresses
// (hosted_abi.h: kGuestBase), as the guest process maps it, so a guest
// pointer is a guest address: what the frontends hand the hypervisor
// (hypercall arguments, the frames they grant) is checked by the same
// accessor as in atoll. The pages a frontend shares come from a heap inside
// guest RAM (guest_heap.h). The hypervisor's frames (shared_info, the grant
// table) are mapped wherever the host likes: the guest reaches them only
// through phys_to_virt().
#pragma once

#include <xen/xen.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atoll/types.h"
#include "atoll/xenstore.h"
#include "domain.h"
#include "elf_image.h"
#include "event_loop.h"
#include "xenstore_link.h"
#include "xenstored.h"
#include "xs_ring_transport.h"

namespace atl::dataplane {

class GuestEnv {
 public:
  static constexpr uint16_t kDomid = 1;
  static constexpr uint64_t kMemory = 32ULL << 20;
  // The heap for shared pages: above the image, its boot pages and stack.
  static constexpr uint64_t kHeapStartGpa = 4ULL << 20;

  // The one guest of this process (its addresses are fixed); nullptr with
  // `error` when it cannot be had: `address_taken` says whether that is
  // because something else lives at the guest's addresses (a reason to skip,
  // not a failure of the code under test).
  static GuestEnv* try_get(std::string& error, bool* address_taken = nullptr);
  static GuestEnv& get();

  hv::EventLoop& loop() { return m_loop; }
  hv::xs::Xenstored& store() { return *m_store; }
  hv::Domain& domain() { return *m_domain; }
  xs::Client& client() { return *m_client; }

  // The guest's hypercall instruction.
  long hypercall(unsigned op, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0);
  // A guest page for hypercall arguments (what the guest's stack is for).
  template <typename T>
  T* args() {
    static_assert(sizeof(T) <= 4096);
    return reinterpret_cast<T*>(m_args);
  }

  // Guest RAM for pages a frontend shares (guest_heap.h).
  void* alloc_pages(size_t bytes, size_t align);
  void free_pages(void* va);
  size_t pages_in_use() const;

  // Event channels, guest side.
  using Handler = void (*)(EvtchnPort, void*);
  void bind(EvtchnPort port, Handler handler, void* data);
  void unbind(EvtchnPort port);
  void send_deferred(EvtchnPort port) { m_deferred.push_back(port); }
  uint64_t events_sent() const { return m_events_sent; }
  void count_send() { ++m_events_sent; }

  // What the vCPU does when its thread waits: send the deferred
  // notifications, let the hypervisor's loop run once (up to `max_wait_ms`
  // when nothing is ready), take the events raised for the guest, and run
  // the xenstore watch callbacks (the guest's "xenstore" thread) unless they
  // are what is waiting.
  void idle(int max_wait_ms = 5);
  // idle() until `done()` holds; false after `timeout_ms`.
  bool run_until(const std::function<bool()>& done, int timeout_ms = 10000);

  shared_info* shared() const;
  // The platform's view of guest-physical addresses (platform.h).
  void* phys_to_virt(uint64_t gpa) const;
  uint64_t virt_to_phys(const void* va) const;

 private:
  GuestEnv() = default;
  bool init_host(std::string& error, bool& address_taken);
  bool boot(std::string& error);
  void deliver_events();

  hv::EventLoop m_loop;
  std::vector<uint8_t> m_image_bytes;  // the stand-in image m_image reads
  std::optional<hv::ElfImage> m_image;
  std::unique_ptr<hv::xs::Xenstored> m_store;
  std::unique_ptr<hv::Domain> m_domain;
  std::unique_ptr<hv::XenstoreLink> m_link;
  std::unique_ptr<xs::RingTransport> m_transport;
  std::unique_ptr<xs::Client> m_client;
  uint8_t* m_args = nullptr;
  uint8_t* m_frames = nullptr;
  // The heap: a page map of guest RAM from kHeapStartGpa, and each block's length.
  std::vector<bool> m_used;
  std::map<uintptr_t, size_t> m_blocks;
  std::map<uint32_t, std::pair<Handler, void*>> m_handlers;
  std::vector<EvtchnPort> m_deferred;
  uint64_t m_events_sent = 0;
  bool m_in_watches = false;
};

}  // namespace atl::dataplane
