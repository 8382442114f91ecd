// The platform layer: what differs between running on Atoll's hosted hypervisor
// and on real Xen (entry point, how a hypercall is made, where boot information,
// shared_info and the grant table come from, how upcalls arrive, what travels
// with a shutdown). Everything above it — the kernel core, drivers, libc glue
// and apps — is the same on every platform and includes no platform header.
// One implementation per directory under kernel/platform/, chosen by the meson
// option `platform`.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

#include <optional>

#include "atoll/kernel.h"
#include "atoll/result.h"
#include "atoll/types.h"

extern "C" long atoll_hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

namespace atl::platform {

// A ring page the toolstack set up for the domain (PV console, xenstore): the
// frame that holds it and the event channel that signals it.
struct RingPage {
  Gfn gfn;
  EvtchnPort port;
};

// What the platform learnt at boot, in the same shape whatever it came from
// (start_info on the hosted platform; hvm_start_info and HVM params on PVH).
// The platform fills it before any constructor runs, so it must need none
// (the platform's copy is constinit).
struct BootInfo {
  shared_info* shared = nullptr;
  uint64_t memory_size = 0;         // bytes of pseudo-physical RAM
  uintptr_t heap_start = 0;         // first free byte after the image and its boot module
  uintptr_t heap_end = 0;
  // The boot module (Xen's start_info mod_start/mod_len on the hosted
  // platform): a sealed image's read-only archive (docs/images.md); 0 and 0
  // if there is none.
  uintptr_t module_start = 0;
  size_t module_size = 0;
  const char* cmdline = nullptr;
  std::optional<RingPage> console;  // absent when the toolstack gave none
  std::optional<RingPage> store;
};

const BootInfo& boot_info();
void* phys_to_virt(uint64_t gpa);
uint64_t virt_to_phys(const void* va);
inline void* gfn_to_virt(Gfn gfn) { return phys_to_virt(gfn.value() << 12); }
// Tells the hypervisor where event upcalls enter the guest.
void register_event_callback();
// Writes to the console without any driver: early boot, panics, and any output
// before the console ring is connected (console_io on the hosted platform; on
// PVH the ring itself, since Xen drops a domU's console_io).
void console_write_early(const char* text, size_t length);
// Records a boot milestone for the hypervisor's boot log (may do nothing).
void record_boot_milestone(bool main_reached, uint64_t now_ns);
const char* name();

// Sets up `frames` frames of v1 grant entries with the hypervisor and maps
// them contiguously; returns where the entries start.
Result<void*> map_grant_table(unsigned frames);

// What may travel with SCHEDOP_shutdown besides the reason. The hosted
// hypervisor takes all of it; real Xen takes none.
struct ShutdownDetail {
  int exit_status = 0;  // SHUTDOWN_poweroff
  kernel::CrashReason crash_reason = kernel::CrashReason::kUnknown;  // SHUTDOWN_crash
  const void* frame = nullptr;  // SHUTDOWN_crash: the frame a backtrace starts from
};
// Whether shutdown() hands the exit status to the hypervisor (hosted: yes;
// real Xen takes a reason only, so the image leaves the status in xenstore,
// data/exit-status, where the toolstack can read it).
bool shutdown_carries_exit_status();
// SCHEDOP_shutdown with `reason` (SHUTDOWN_*). Returns only when the hypervisor
// did not take it; the caller decides whether to try again.
void shutdown(unsigned reason, const ShutdownDetail& detail);

}  // namespace atl::platform

// The platform's entry code calls this once, on the boot stack, upcalls masked.
extern "C" [[noreturn]] void kernel_main();
