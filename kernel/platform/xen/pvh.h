// What the files of the Xen PVH platform share: the x86 pieces (CPUID, MSRs,
// the local APIC), the trap setup and the crash report. Nothing outside
// kernel/platform/xen includes this.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace atl::platform::pvh {

// The vector Xen raises for event-channel upcalls (HVMOP_set_evtchn_upcall_vector
// and the HVM_PARAM_CALLBACK_IRQ vector); entry.S has a stub for it. 0xf3 is the
// one Linux uses, above every exception and legacy IRQ vector.
constexpr uint8_t kUpcallVector = 0xf3;
// Where the local APIC sends spurious interrupts (its SVR).
constexpr uint8_t kSpuriousVector = 0xff;

struct CpuidResult {
  uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}
inline uint64_t rdmsr(uint32_t msr) {
  uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (uint64_t{hi} << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
               : "memory");
}

// GDT with a TSS whose IST stacks every vector uses, and the IDT (traps.cpp).
void init_traps();
// Software-enables the local APIC so the upcall vector is accepted; EOI after
// each upcall (Xen delivers the per-vCPU upcall vector through the APIC).
void init_local_apic();
void local_apic_eoi();

// The emergency console: the PV console ring when the toolstack gave one
// (a domU), else HYPERVISOR_console_io (dom0, or a debug Xen's serial line).
void emergency_write(const char* text, size_t length);
void emergency_print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Prints the return addresses of the frame-pointer chain starting at `rbp`
// (the image is built with -fno-omit-frame-pointer), after `first_rip` if it is
// not 0. Addresses only: the image's nm gives the names (scripts/xen-symbolize.py).
void print_backtrace(uint64_t first_rip, uint64_t rbp);

}  // namespace atl::platform::pvh
