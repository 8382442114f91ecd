// newlib's system-call hooks, all in one file. newlib for x86_64-elf calls these
// plain names (write, sbrk, ...) because its configuration sets
// MISSING_SYSCALL_NAMES; they are also the POSIX functions apps call directly.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "atoll/fd.h"
#include "atoll/kernel.h"
#include "console_front.h"
#include "atoll/platform.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "atoll/xenstore.h"

#undef errno
extern "C" int errno;

namespace {

// newlib's _*_r wrappers copy the global errno into the thread's reent, while apps
// calling these directly read the reent's; set both.
long fail(int e) {
  errno = e;
  _REENT->_errno = e;
  return -1;
}

// Descriptors 0-2: stdin reads the console ring, stdout and stderr write to it.
class ConsoleFile final : public atl::fd::File {
 public:
  ssize_t read(void* buf, size_t count) override {
    if (!atl::console::connected()) return 0;  // no console ring: stdin is empty
    return static_cast<ssize_t>(atl::console::read(static_cast<char*>(buf), count));
  }
  ssize_t write(const void* buf, size_t count) override {
    atl::kernel::console_write(static_cast<const char*>(buf), count);
    return static_cast<ssize_t>(count);
  }
  int fstat(struct stat* st) override {
    *st = {};
    st->st_mode = S_IFCHR | 0620;
    return 0;
  }
  bool is_tty() const override { return true; }
};

// The result of a File method (>= 0, or -errno) as a POSIX return.
template <typename T>
T posix(T result) {
  return result < 0 ? static_cast<T>(fail(static_cast<int>(-result))) : result;
}

uintptr_t g_brk;

constinit ConsoleFile g_console;

// Where SCHEDOP_shutdown cannot carry the status (real Xen), the toolstack
// finds it in the domain's own xenstore directory, data/exit-status (a
// guest may write under data/); with on_poweroff="preserve" it stays
// readable until the domain is destroyed.
void publish_exit_status(int status) {
  atl::xs::Client* client = atl::xs::client();
  if (!client) return;
  char text[16];
  snprintf(text, sizeof text, "%d", status & 0xff);
  (void)client->write("data/exit-status", text);
}

}  // namespace

namespace atl::fd {
File& console_file() { return g_console; }
}  // namespace atl::fd

extern "C" {

_READ_WRITE_RETURN_TYPE write(int fd, const void* buf, size_t count) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f || fd == 0) return fail(EBADF);
  return static_cast<int>(posix(f->write(buf, count)));
}

_READ_WRITE_RETURN_TYPE read(int fd, void* buf, size_t count) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f || fd == 1 || fd == 2) return fail(EBADF);
  return static_cast<int>(posix(f->read(buf, count)));
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return fail(EBADF);
  return posix(f->pread(buf, count, offset));
}

void* sbrk(ptrdiff_t increment) {
  const auto& boot = atl::platform::boot_info();
  if (!g_brk) g_brk = boot.heap_start;
  uintptr_t old = g_brk;
  if ((increment > 0 && static_cast<uintptr_t>(increment) > boot.heap_end - old) ||
      (increment < 0 && static_cast<uintptr_t>(-increment) > old - boot.heap_start)) {
    fail(ENOMEM);
    return reinterpret_cast<void*>(-1);
  }
  g_brk = old + increment;
  return reinterpret_cast<void*>(old);
}

uintptr_t atoll_heap_break(void) {
  if (!g_brk) g_brk = atl::platform::boot_info().heap_start;
  return g_brk;
}

[[noreturn]] void _exit(int status) {
  if (!atl::platform::shutdown_carries_exit_status()) publish_exit_status(status);
  atl::kernel::shutdown_poweroff(status);
}

int close(int fd) { return posix(atl::fd::remove(fd)); }

int fstat(int fd, struct stat* st) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return static_cast<int>(fail(EBADF));
  return posix(f->fstat(st));
}

int isatty(int fd) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return static_cast<int>(fail(EBADF));
  if (f->is_tty()) return 1;
  fail(ENOTTY);
  return 0;
}

off_t lseek(int fd, off_t offset, int whence) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return fail(EBADF);
  return posix(f->lseek(offset, whence));
}

int fcntl(int fd, int cmd, ...) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return static_cast<int>(fail(EBADF));
  va_list ap;
  va_start(ap, cmd);
  int arg = va_arg(ap, int);
  va_end(ap);
  switch (cmd) {
    case F_GETFL: return f->status_flags();
    case F_SETFL: return posix(f->set_status_flags(arg));
    case F_GETFD: return 0;
    case F_SETFD: return 0;  // FD_CLOEXEC: there is no exec
    default: return static_cast<int>(fail(EINVAL));
  }
}
int getpid() { return 1; }

// abort() and raise() end here: a fatal signal to ourselves is a crash.
int kill(int pid, int sig) {
  if (pid != 1 && pid != 0) return static_cast<int>(fail(ESRCH));
  if (sig == 0) return 0;
  atl::kernel::console_print("atoll: %s\n", sig == SIGABRT ? "abort() called" : "fatal signal raised");
  atl::kernel::shutdown_crash(sig == SIGABRT ? atl::kernel::CrashReason::kAbort : atl::kernel::CrashReason::kUnknown);
}

int unlink(const char*) { return static_cast<int>(fail(ENOENT)); }
int link(const char*, const char*) { return static_cast<int>(fail(EMLINK)); }

int gettimeofday(struct timeval* tv, void*) {
  uint64_t ns = atl::time::wallclock_ns();
  tv->tv_sec = static_cast<time_t>(ns / 1000000000ULL);
  tv->tv_usec = static_cast<suseconds_t>((ns % 1000000000ULL) / 1000);
  return 0;
}

int clock_gettime(clockid_t clock, struct timespec* ts) {
  uint64_t ns;
  switch (clock) {
    case CLOCK_REALTIME: ns = atl::time::wallclock_ns(); break;
    case CLOCK_MONOTONIC: ns = atl::time::monotonic_ns(); break;
    default: return static_cast<int>(fail(EINVAL));
  }
  ts->tv_sec = static_cast<time_t>(ns / 1000000000ULL);
  ts->tv_nsec = static_cast<long>(ns % 1000000000ULL);
  return 0;
}

int clock_getres(clockid_t clock, struct timespec* res) {
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return static_cast<int>(fail(EINVAL));
  if (res) { res->tv_sec = 0; res->tv_nsec = 1; }
  return 0;
}

clock_t times(struct tms* buf) {
  clock_t ticks = static_cast<clock_t>(atl::time::monotonic_ns() / (1000000000ULL / CLOCKS_PER_SEC));
  if (buf) { buf->tms_utime = ticks; buf->tms_stime = 0; buf->tms_cutime = 0; buf->tms_cstime = 0; }
  return ticks;
}

int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (!req || req->tv_nsec < 0 || req->tv_nsec >= 1000000000L || req->tv_sec < 0) return static_cast<int>(fail(EINVAL));
  atl::sched::sleep_ns(uint64_t(req->tv_sec) * 1000000000ULL + req->tv_nsec);
  if (rem) { rem->tv_sec = 0; rem->tv_nsec = 0; }
  return 0;
}

int usleep(useconds_t usec) {
  atl::sched::sleep_ns(uint64_t(usec) * 1000);
  return 0;
}

unsigned sleep(unsigned seconds) {
  atl::sched::sleep_ns(uint64_t(seconds) * 1000000000ULL);
  return 0;
}

int sched_yield() {
  atl::sched::yield();
  return 0;
}

// newlib's aligned_alloc (and C++'s aligned operator new) rely on this POSIX call,
// which newlib leaves to the OS; memalign does the work.
int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1))) return EINVAL;
  void* p = memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

// The C runtime pieces crt files would normally bring.
void _init() {}
void _fini() {}
void* __dso_handle = &__dso_handle;

}  // extern "C"
