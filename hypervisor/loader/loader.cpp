// atoll-loader: the first (and only) program a guest process runs. It maps the
// domain's memory at the fixed guest addresses with per-segment protections (W^X),
// installs the fault and upcall signal handlers, drops every file descriptor,
// seals itself with a seccomp filter that turns hypercalls into user notifications
// for the hypervisor and kills the process on any other system call, then jumps to
// the guest's entry point. It is freestanding (no libc), so exec stays cheap.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <asm/unistd.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "atoll/hosted_abi.h"

using namespace atl::hosted;

// The compiler may emit calls to these even without a libc.
extern "C" void* memcpy(void* dst, const void* src, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  auto* s = static_cast<const uint8_t*>(src);
  while (n--) *d++ = *s++;
  return dst;
}
extern "C" void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  while (n--) *d++ = static_cast<uint8_t>(c);
  return dst;
}

namespace {

long raw_syscall(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return ret;
}

[[noreturn]] void fail(LoaderStatus status) {
  char byte = static_cast<char>(status);
  raw_syscall(__NR_write, kLoaderStatusFd, reinterpret_cast<long>(&byte), 1);
  raw_syscall(__NR_exit_group, 100);
  __builtin_unreachable();
}

// Kernel ABI for rt_sigaction (not glibc's struct sigaction).
struct KernelSigaction {
  void (*handler)(int, void*, void*);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};
constexpr unsigned long kSaSiginfo = 0x4, kSaOnstack = 0x08000000, kSaRestart = 0x10000000, kSaRestorer = 0x04000000;

extern "C" void loader_restorer();
asm(".text\n.globl loader_restorer\nloader_restorer:\n  mov $15, %eax\n  syscall\n  hlt\n");

alignas(16) uint8_t g_fault_stack[16384];

// The interrupted context as the kernel lays it out (uc_mcontext of ucontext_t).
constexpr size_t kMcontextOffset = 40;  // uc_flags, uc_link, uc_stack(24)
enum { kRegRbp = 10, kRegRsp = 15, kRegRip = 16 };

// A guest fault: report the registers to the hypervisor, which symbolizes the
// stack and destroys or restarts the domain. The hypervisor never answers.
void fault_handler(int signo, void* info, void* context) {
  const uint64_t* regs = reinterpret_cast<const uint64_t*>(static_cast<uint8_t*>(context) + kMcontextOffset);
  uint64_t fault_addr = *reinterpret_cast<const uint64_t*>(static_cast<uint8_t*>(info) + 16);
  for (;;) raw_syscall(kFaultReportSyscall, signo, regs[kRegRip], regs[kRegRsp], regs[kRegRbp], fault_addr);
}

const LoaderConfig* g_config;

// An event upcall: call the guest's registered callback if it has one.
void upcall_handler(int, void*, void*) {
  if (!g_config) return;  // a pooled loader has no domain yet
  auto callback = reinterpret_cast<void (*)()>(__atomic_load_n(&g_config->event_callback, __ATOMIC_ACQUIRE));
  if (callback) callback();
}

void install(int signo, void (*handler)(int, void*, void*), unsigned long flags) {
  KernelSigaction act{handler, flags | kSaSiginfo | kSaRestorer, loader_restorer, 0};
  if (raw_syscall(__NR_rt_sigaction, signo, reinterpret_cast<long>(&act), 0, 8) != 0) fail(LoaderStatus::kSignalSetupFailed);
}

int prot_bits(uint32_t prot) {
  return ((prot & kProtRead) ? 1 : 0) | ((prot & kProtWrite) ? 2 : 0) | ((prot & kProtExec) ? 4 : 0);
}

void seal() {
  // Hypercalls (one syscall-number range) go to the hypervisor, rt_sigreturn ends a
  // signal handler, everything else kills the whole process.
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, static_cast<uint32_t>(kHypercallSyscallBase), 0, 2),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(kFaultReportSyscall), 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  // Every descriptor goes: the listener created next becomes fd 0, which the
  // hypervisor takes with pidfd_getfd. The status byte is written only once fd 0
  // is closed, so the hypervisor can never pick up a stale fd 0.
  raw_syscall(__NR_close_range, 0, kLoaderStatusFd - 1, 0);
  raw_syscall(__NR_close_range, kLoaderStatusFd + 1, ~0U, 0);
  char byte = static_cast<char>(LoaderStatus::kSealing);
  raw_syscall(__NR_write, kLoaderStatusFd, reinterpret_cast<long>(&byte), 1);
  raw_syscall(__NR_close, kLoaderStatusFd);
  long fd = raw_syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                        SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                        reinterpret_cast<long>(&prog));
  if (fd != 0) raw_syscall(__NR_exit_group, 101);
}

// What owes nothing to the domain, done before a pooled loader waits for one
// (~0.1 ms less on a create's path): the fault and upcall handlers on their
// stack, no core dumps, and the process's ties to its hypervisor.
void prepare() {
  struct { void* sp; int flags; size_t size; } altstack{g_fault_stack, 0, sizeof g_fault_stack};
  if (raw_syscall(__NR_sigaltstack, reinterpret_cast<long>(&altstack), 0) != 0) fail(LoaderStatus::kSignalSetupFailed);
  static const int kFaultSignals[] = {4 /*ILL*/, 5 /*TRAP*/, 7 /*BUS*/, 8 /*FPE*/, 11 /*SEGV*/};
  for (int signo : kFaultSignals) install(signo, fault_handler, kSaOnstack);
  install(kUpcallSignal, upcall_handler, kSaRestart);  // reads g_config, set before any upcall can come
  struct { uint64_t cur, max; } no_core{0, 0};
  raw_syscall(__NR_setrlimit, 4 /*RLIMIT_CORE*/, reinterpret_cast<long>(&no_core));
  // The guest must not outlive its hypervisor: it would sit in its next hypercall
  // forever. (If the hypervisor is already gone, our parent is now init.)
  constexpr long kPrSetPdeathsig = 1;
  if (raw_syscall(__NR_prctl, kPrSetPdeathsig, 9 /*SIGKILL*/, 0, 0, 0) != 0) fail(LoaderStatus::kSeccompFailed);
  if (raw_syscall(__NR_getppid) == 1) raw_syscall(__NR_exit_group, 102);
  constexpr long kPrSetNoNewPrivs = 38;
  if (raw_syscall(__NR_prctl, kPrSetNoNewPrivs, 1, 0, 0, 0) != 0) fail(LoaderStatus::kSeccompFailed);
}

// Pool mode: wait for the domain's memfds on kLoaderPoolFd and put them where
// a loader spawned for its domain has them. A loader spawned with its memfds has
// no pool socket and goes on at once.
void await_domain() {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  long got;
  do got = raw_syscall(__NR_recvmsg, kLoaderPoolFd, reinterpret_cast<long>(&msg), 0x40000000 /*MSG_CMSG_CLOEXEC*/);
  while (got == -4 /*EINTR*/);
  if (got == -9 /*EBADF*/) return;  // not pooled
  if (got <= 0) raw_syscall(__NR_exit_group, 0);  // the pool is gone
  const cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int)))
    fail(LoaderStatus::kBadConfig);
  int fds[2];
  memcpy(fds, CMSG_DATA(c), sizeof fds);
  // Out of the way first (a received descriptor may sit on 3 or 4), then into place.
  for (int& fd : fds) {
    long high = raw_syscall(__NR_fcntl, fd, 1030 /*F_DUPFD_CLOEXEC*/, 16);
    if (high < 0) fail(LoaderStatus::kBadConfig);
    raw_syscall(__NR_close, fd);
    fd = static_cast<int>(high);
  }
  if (raw_syscall(__NR_dup2, fds[0], kLoaderMemoryFd) != kLoaderMemoryFd ||
      raw_syscall(__NR_dup2, fds[1], kLoaderHvFramesFd) != kLoaderHvFramesFd)
    fail(LoaderStatus::kBadConfig);
  raw_syscall(__NR_close, fds[0]);
  raw_syscall(__NR_close, fds[1]);
  raw_syscall(__NR_close, kLoaderPoolFd);
}

}  // namespace

extern "C" [[noreturn]] void loader_main() {
  prepare();
  await_domain();
  const uint64_t frames_va = gpa_to_va(kHvFramesGpa);
  long r = raw_syscall(__NR_mmap, frames_va, kHvFramesCount * kPageSize, 3, 0x01 | 0x100000 /*SHARED|FIXED_NOREPLACE*/,
                       kLoaderHvFramesFd, 0);
  if (r != static_cast<long>(frames_va)) fail(LoaderStatus::kMapFailed);
  g_config = reinterpret_cast<const LoaderConfig*>(frames_va + kHvFrameLoader * kPageSize);
  const LoaderConfig cfg = *g_config;
  if (cfg.magic != kLoaderMagic || cfg.segment_count > kMaxLoaderSegments || cfg.memory_size > kMaxMemory ||
      cfg.memory_size % kPageSize)
    fail(LoaderStatus::kBadConfig);

  r = raw_syscall(__NR_mmap, kGuestBase, cfg.memory_size, 3, 0x01 | 0x100000, kLoaderMemoryFd, 0);
  if (r != static_cast<long>(kGuestBase)) fail(LoaderStatus::kMapFailed);
  for (uint32_t i = 0; i < cfg.segment_count; ++i) {
    const LoaderSegment& s = cfg.segments[i];
    if ((s.prot & kProtWrite) && (s.prot & kProtExec)) fail(LoaderStatus::kBadConfig);
    if (raw_syscall(__NR_mprotect, gpa_to_va(s.gpa), s.length, prot_bits(s.prot)) != 0) fail(LoaderStatus::kProtectFailed);
  }
  constexpr long kMadvPopulateWrite = 23;
  for (uint32_t i = 0; i < cfg.populate_count && i < 4; ++i)
    raw_syscall(__NR_madvise, gpa_to_va(cfg.populate[i].gpa), cfg.populate[i].length, kMadvPopulateWrite);  // best effort
  // The config page stays readable (the upcall trampoline reads the callback) but
  // the guest may not change it.
  if (raw_syscall(__NR_mprotect, frames_va + kHvFrameLoader * kPageSize, kPageSize, 1) != 0)
    fail(LoaderStatus::kProtectFailed);

  seal();
  asm volatile(
      "mov %0, %%rsp\n"
      "xor %%ebp, %%ebp\n"
      "jmp *%2\n" ::"r"(cfg.stack_top), "S"(cfg.start_info), "r"(cfg.entry)
      : "memory");
  __builtin_unreachable();
}

asm(".text\n.globl _start\n_start:\n  and $-16, %rsp\n  call loader_main\n  hlt\n");
