// The contract between the hosted hypervisor, its guest loader and a guest built
// for the hosted platform. Everything else between them is the Xen PV ABI.
//
// Address map of a hosted guest process (all guest-virtual):
//   kGuestBase + gpa        guest pseudo-physical memory, one memfd, gpa 0 .. memory size
//   kGuestBase + kImageGpa  where images are linked (1 MiB into RAM, as on PVH)
//   kGuestBase + kHvFramesGpa  frames the hypervisor owns (shared_info, ...), a second memfd
// gpa == "machine address" for this platform: the physmap is auto-translated and
// identity, like a PVH guest's.
#pragma once

// The hypercall system-call base as a macro too, so the platform's entry.S
// (kernel/platform/hosted) uses this one definition; kHypercallSyscallBase below.
#define ATOLL_HOSTED_HYPERCALL_SYSCALL_BASE 0xA7000

#ifndef __ASSEMBLER__

#include <stdint.h>

namespace atl::hosted {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kGuestBase = 0x40000000;  // 1 GiB: keeps images under 2 GiB (small code model)
inline constexpr uint64_t kImageGpa = 0x100000;
inline constexpr uint64_t kStartInfoGpa = 0x1000;
inline constexpr uint64_t kXenstorePageGpa = 0x2000;  // special pages the domain builder sets up,
inline constexpr uint64_t kConsolePageGpa = 0x3000;   // shared with their backends through grants 1 and 0
inline constexpr uint64_t kBootStackTopGpa = kImageGpa;   // boot stack grows down from the image
inline constexpr uint64_t kBootStackBottomGpa = 0x10000;
inline constexpr uint64_t kHvFramesGpa = 0xF0000000;   // the "MMIO hole": guest RAM ends below it
inline constexpr uint64_t kMaxMemory = kHvFramesGpa;
inline constexpr uint64_t kMinMemory = 1 << 20;      // image + boot stack alone need this much

// Frames of the hypervisor-owned memfd.
inline constexpr unsigned kHvFrameSharedInfo = 0;
inline constexpr unsigned kHvFrameLoader = 1;        // LoaderConfig; read-only to the guest once sealed
inline constexpr unsigned kHvFramesCount = 64;

// A hypercall is the `syscall` instruction with rax = kHypercallSyscallBase + the Xen
// hypercall number and Xen's x86-64 argument registers (rdi, rsi, rdx, r10, r8). The
// guest's seccomp filter turns exactly this range into a user notification for the
// hypervisor; every other Linux system call kills the guest.
inline constexpr long kHypercallSyscallBase = ATOLL_HOSTED_HYPERCALL_SYSCALL_BASE;
inline constexpr long kHypercallCount = 64;
// Sent by the loader's fault handler, never by guest code: (signo, rip, rsp, rbp, fault addr).
inline constexpr long kFaultReportSyscall = kHypercallSyscallBase + kHypercallCount;
// The signal that carries an event-channel upcall into a running guest.
inline constexpr int kUpcallSignal = 10;  // SIGUSR1

// Atoll extension of SCHEDOP_shutdown: the third hypercall argument carries the exit
// status for SHUTDOWN_poweroff and the frame pointer for SHUTDOWN_crash, and for
// SHUTDOWN_crash the fourth says why, when the guest knows. Real Xen ignores both.
enum class CrashReason : uint64_t {
  kUnknown = 0,
  kPanic = 1,        // the kernel's panic(): its message is on the console
  kAbort = 2,        // abort(), a failed assert(), std::terminate()
  kOutOfMemory = 3,  // an allocation that must not fail found the heap full
};

// Segment protections the loader applies (W^X: never write and execute together).
enum : uint32_t { kProtRead = 1, kProtWrite = 2, kProtExec = 4 };

struct LoaderSegment {
  uint64_t gpa;     // page aligned
  uint64_t length;  // page multiple
  uint32_t prot;
  uint32_t pad;
};

inline constexpr uint32_t kLoaderMagic = 0x4c4f4c41;  // "ALOL"
inline constexpr unsigned kMaxLoaderSegments = 16;

// ABI: lives in hypervisor frame kHvFrameLoader; written by the hypervisor before the
// loader starts, read by the loader once. After sealing the loader keeps the page
// mapped read-only so its upcall trampoline can find the guest's callback.
struct LoaderConfig {
  uint32_t magic;
  uint32_t segment_count;
  uint64_t memory_size;
  uint64_t entry;           // guest virtual
  uint64_t stack_top;       // guest virtual
  uint64_t start_info;      // guest virtual, passed in rsi as on Xen PV
  uint64_t event_callback;  // written by the hypervisor on CALLBACKOP_register
  LoaderSegment segments[kMaxLoaderSegments];
  // Writable ranges the guest is known to touch at boot (boot pages, stack top,
  // data, first heap pages). The loader populates them up front: one
  // MADV_POPULATE_WRITE costs a fraction of the page faults it saves (~10 us each
  // on a PVM host).
  uint32_t populate_count;
  uint32_t pad2;
  LoaderSegment populate[4];
};

// Status the loader reports on its status pipe before sealing itself.
enum class LoaderStatus : uint8_t {
  kSealing = 'S',
  kBadConfig = 'C',
  kMapFailed = 'M',
  kProtectFailed = 'P',
  kSignalSetupFailed = 'G',
  kSeccompFailed = 'F',
};

// File descriptors the loader inherits.
inline constexpr int kLoaderMemoryFd = 3;
inline constexpr int kLoaderHvFramesFd = 4;
inline constexpr int kLoaderStatusFd = 5;
// A pooled loader (spawned before its domain exists) has this socket instead
// of the two memfds, and receives them on it as SCM_RIGHTS, memory first; end
// of file means the pool was dropped, and it exits.
inline constexpr int kLoaderPoolFd = 6;

// ABI: the guest kernel stamps its boot milestones (system time, ns) here, in the
// start_info page, so the hypervisor can report them without extra hypercalls.
inline constexpr uint64_t kBootRecordGpa = kStartInfoGpa + 2048;
inline constexpr uint32_t kBootRecordMagic = 0x544f4f42;  // "BOOT"
struct BootRecord {
  uint32_t magic;
  uint32_t pad;
  uint64_t kernel_entry_ns;
  uint64_t main_ns;
};

inline constexpr uint64_t gpa_to_va(uint64_t gpa) { return kGuestBase + gpa; }

}  // namespace atl::hosted

#endif  // __ASSEMBLER__
