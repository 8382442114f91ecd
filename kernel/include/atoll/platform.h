// The platform layer: what differs between running on Atoll's hosted hypervisor
// and on real Xen (entry point, how a hypercall is made, where boot information
// and shared_info come from, how upcalls arrive). Everything above it — the
// kernel core, drivers, libc glue and apps — is the same on every platform.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

extern "C" long atoll_hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

namespace atl::platform {

struct BootInfo {
  const start_info_t* start_info;  // Xen's start_info (PV layout)
  shared_info* shared;
  uint64_t memory_size;            // bytes of pseudo-physical RAM
  uintptr_t heap_start;            // first free byte after the image and its boot module
  // Xen's boot module (start_info mod_start/mod_len): a sealed image's read-only
  // archive (docs/images.md); 0 and 0 if there is none.
  uintptr_t module_start;
  size_t module_size;
  uintptr_t heap_end;
  const char* cmdline;
  // PV console and xenstore rings (frame numbers and event channels); 0 if absent.
  uint64_t console_gfn;
  uint32_t console_port;
  uint64_t store_gfn;
  uint32_t store_port;
};

const BootInfo& boot_info();
void* phys_to_virt(uint64_t gpa);
uint64_t virt_to_phys(const void* va);
// Tells the hypervisor where event upcalls enter the guest.
void register_event_callback();
// Records a boot milestone for the hypervisor's boot log (may do nothing).
void record_boot_milestone(bool main_reached, uint64_t now_ns);
const char* name();

}  // namespace atl::platform

// The platform's entry code calls this once, on the boot stack, upcalls masked.
extern "C" [[noreturn]] void kernel_main();
