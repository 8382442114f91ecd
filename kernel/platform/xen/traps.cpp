// Interrupts and exceptions on PVH: the TSS with its IST stacks, the IDT over
// entry.S's stubs, the local APIC the upcall vector arrives through, and the
// crash report a fault prints (on the hosted platform the hypervisor prints it;
// here nobody else can).
#include <stdio.h>
#include <string.h>
#include <xen/sched.h>

#include "atoll/evtchn.h"
#include "atoll/platform.h"
#include "pvh.h"

extern "C" char _end[];  // xen.ld

namespace atl::platform::pvh {

// What trap_common (entry.S) pushes, then the CPU's interrupt frame.
struct TrapFrame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(TrapFrame) == 22 * 8);

namespace {

// ABI: x86-64 64-bit TSS (Intel SDM vol. 3, 8.7).
struct [[gnu::packed]] Tss {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3;
  uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

// ABI: x86-64 interrupt gate.
struct IdtGate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t ist;
  uint8_t type_attr;
  uint16_t offset_mid;
  uint32_t offset_high;
  uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

struct [[gnu::packed]] DescriptorTablePointer {
  uint16_t limit;
  uint64_t base;
};

constexpr uint16_t kKernelCs = 0x08;
constexpr uint16_t kTssSelector = 0x18;
constexpr uint8_t kInterruptGate = 0x8e;  // present, DPL 0, 64-bit interrupt gate
// IST slots (1-based in the gate): interrupts, exceptions, and the two that
// may arrive while an exception handler runs.
constexpr uint8_t kIstInterrupt = 1;
constexpr uint8_t kIstException = 2;
constexpr uint8_t kIstCritical = 3;
constexpr size_t kIstSize = 16384;

constexpr uint64_t kApicBaseMsr = 0x1b;
constexpr uint64_t kApicEnabled = 1 << 11;
constexpr uint32_t kApicEoi = 0xb0;
constexpr uint32_t kApicSvr = 0xf0;
constexpr uint32_t kApicSvrEnable = 1 << 8;

alignas(16) uint8_t g_ist_stacks[3][kIstSize];
Tss g_tss;
IdtGate g_idt[256];
volatile uint32_t* g_apic;

extern "C" uint64_t xen_gdt[];
extern "C" void xen_trap_stub_0(), xen_trap_stub_1(), xen_trap_stub_2(), xen_trap_stub_3(), xen_trap_stub_4(),
    xen_trap_stub_5(), xen_trap_stub_6(), xen_trap_stub_7(), xen_trap_stub_8(), xen_trap_stub_9(),
    xen_trap_stub_10(), xen_trap_stub_11(), xen_trap_stub_12(), xen_trap_stub_13(), xen_trap_stub_14(),
    xen_trap_stub_15(), xen_trap_stub_16(), xen_trap_stub_17(), xen_trap_stub_18(), xen_trap_stub_19(),
    xen_trap_stub_20(), xen_trap_stub_21(), xen_trap_stub_0xf3(), xen_trap_stub_0xff();

void (*const kExceptionStubs[])() = {
    xen_trap_stub_0,  xen_trap_stub_1,  xen_trap_stub_2,  xen_trap_stub_3,  xen_trap_stub_4,  xen_trap_stub_5,
    xen_trap_stub_6,  xen_trap_stub_7,  xen_trap_stub_8,  xen_trap_stub_9,  xen_trap_stub_10, xen_trap_stub_11,
    xen_trap_stub_12, xen_trap_stub_13, xen_trap_stub_14, xen_trap_stub_15, xen_trap_stub_16, xen_trap_stub_17,
    xen_trap_stub_18, xen_trap_stub_19, xen_trap_stub_20, xen_trap_stub_21,
};

const char* const kExceptionNames[] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor segment overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 floating point", "#AC alignment check", "#MC machine check",
    "#XM SIMD floating point", "#VE virtualization", "#CP control protection",
};

void set_gate(unsigned vector, void (*stub)(), uint8_t ist) {
  auto addr = reinterpret_cast<uintptr_t>(stub);
  g_idt[vector] = {static_cast<uint16_t>(addr), kKernelCs, ist, kInterruptGate, static_cast<uint16_t>(addr >> 16),
                   static_cast<uint32_t>(addr >> 32), 0};
}

void load_tss() {
  for (unsigned i = 0; i < 3; ++i) g_tss.ist[i] = reinterpret_cast<uintptr_t>(g_ist_stacks[i] + kIstSize);
  g_tss.iomap_base = sizeof(Tss);  // no I/O permission bitmap
  auto base = reinterpret_cast<uintptr_t>(&g_tss);
  uint64_t limit = sizeof(Tss) - 1;
  // ABI: 16-byte system descriptor, type 9 (available 64-bit TSS), present.
  xen_gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (uint64_t{0x89} << 40) | (((limit >> 16) & 0xf) << 48) |
               (((base >> 24) & 0xff) << 56);
  xen_gdt[4] = base >> 32;
  asm volatile("ltr %w0" ::"r"(kTssSelector) : "memory");
}

bool plausible_frame(uint64_t fp) {
  // Thread stacks come from the heap and the boot stack is in the image: both
  // lie in the identity map above the image's start.
  return fp && (fp & 7) == 0 && fp >= 0x100000 && fp < (uint64_t{4} << 30) - 16 &&
         fp != reinterpret_cast<uintptr_t>(_end);
}

[[noreturn]] void report_fault(const TrapFrame& f) {
  uint64_t cr2;
  asm volatile("mov %%cr2, %0" : "=r"(cr2));
  const char* what = f.vector < sizeof kExceptionNames / sizeof *kExceptionNames ? kExceptionNames[f.vector] : "interrupt";
  emergency_print("atoll: fault: vector %lu (%s), error %#lx, rip %#lx, cr2 %#lx\n", f.vector, what, f.error, f.rip,
                  cr2);
  emergency_print("atoll:   rax %#lx rbx %#lx rcx %#lx rdx %#lx\n", f.rax, f.rbx, f.rcx, f.rdx);
  emergency_print("atoll:   rsi %#lx rdi %#lx rbp %#lx rsp %#lx rflags %#lx\n", f.rsi, f.rdi, f.rbp, f.rsp, f.rflags);
  // Page 0 is the one page entry.S leaves unmapped.
  if (f.vector == 14 && cr2 < 4096) emergency_print("atoll: NULL pointer dereference\n");
  print_backtrace(f.rip, f.rbp);
  evtchn::upcalls_disable();
  sched_shutdown sd{SHUTDOWN_crash};
  for (;;) atoll_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, reinterpret_cast<uintptr_t>(&sd), 0, 0, 0);
}

}  // namespace

void init_traps() {
  load_tss();
  unsigned n = sizeof kExceptionStubs / sizeof *kExceptionStubs;
  for (unsigned v = 0; v < n; ++v) set_gate(v, kExceptionStubs[v], v == 2 || v == 8 ? kIstCritical : kIstException);
  for (unsigned v = n; v < 256; ++v) set_gate(v, xen_trap_stub_0xff, kIstInterrupt);
  set_gate(kUpcallVector, xen_trap_stub_0xf3, kIstInterrupt);
  DescriptorTablePointer idtr{sizeof g_idt - 1, reinterpret_cast<uintptr_t>(g_idt)};
  asm volatile("lidt %0" ::"m"(idtr) : "memory");
}

void init_local_apic() {
  uint64_t base = rdmsr(kApicBaseMsr);
  if (!(base & kApicEnabled)) return;
  g_apic = reinterpret_cast<volatile uint32_t*>(base & ~uint64_t{0xfff});
  g_apic[kApicSvr / 4] = kApicSvrEnable | kSpuriousVector;
}

void local_apic_eoi() {
  if (g_apic) g_apic[kApicEoi / 4] = 0;
}

void print_backtrace(uint64_t first_rip, uint64_t rbp) {
  emergency_print("atoll: backtrace (addresses; scripts/xen-symbolize.py IMAGE names them):\n");
  // #0 is the faulting instruction, #1 on return addresses (the symbolizer
  // looks those up one byte back, at the call).
  if (first_rip) emergency_print("atoll:   #0 %#lx\n", first_rip);
  unsigned depth = 1;
  for (uint64_t fp = rbp; plausible_frame(fp) && depth <= 32; ++depth) {
    const auto* frame = reinterpret_cast<const uint64_t*>(fp);
    if (!frame[1]) break;
    emergency_print("atoll:   #%u %#lx\n", depth, frame[1]);
    // Frames grow toward higher addresses as we walk out; anything else is a
    // corrupt chain, and the walk stops rather than fault again.
    if (frame[0] <= fp) break;
    fp = frame[0];
  }
}

}  // namespace atl::platform::pvh

// Called by trap_common (entry.S) on the IST stack with interrupts off.
extern "C" void xen_trap(atl::platform::pvh::TrapFrame* frame) {
  using namespace atl::platform::pvh;
  if (frame->vector == kUpcallVector) {
    atl::evtchn::upcall();
    local_apic_eoi();
    return;
  }
  if (frame->vector == kSpuriousVector) return;  // spurious: no EOI
  report_fault(*frame);
}
