// Kernel-wide services: the console, panics, and the boot-time command line.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace atl::kernel {

// Writes to the domain's console (the Xen console_io hypercall on this platform
// until the PV console ring takes over).
void console_write(const char* text, size_t length);
void console_print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Routes console output to a driver (the PV console ring) instead of the hypercall.
using ConsoleSink = void (*)(const char* text, size_t length);
void set_console_sink(ConsoleSink sink);
// Writes through the hypercall whatever the sink: for panics and early boot.
void console_write_early(const char* text, size_t length);

// Why the domain crashes, when the guest knows.
enum class CrashReason : uint8_t {
  kUnknown,
  kPanic,        // panic(): its message is on the console
  kAbort,        // abort(), a failed assert(), std::terminate()
  kOutOfMemory,  // an allocation that must not fail found the heap full
};

// Reports the message and shuts the domain down with SHUTDOWN_crash; the
// hypervisor prints a backtrace.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// The reason and this frame (where a backtrace starts) go to the hypervisor
// where the platform can carry them (the hosted one does; real Xen does not).
[[noreturn]] void shutdown_crash(CrashReason reason = CrashReason::kUnknown);
[[noreturn]] void shutdown_poweroff(int status);
[[noreturn]] void shutdown_reboot();

// argv parsed from the boot command line: argv[0] is the domain's name.
int argc();
char** argv();

}  // namespace atl::kernel

// The layer above the kernel provides this (libc-glue/boot.cpp): it brings up
// what lives above the kernel (the console ring, xenstore), runs the C and C++
// constructors and calls main(). kernel_main calls it last, once time, event
// channels, threads and grants work; the kernel names no layer above it.
extern "C" [[noreturn]] void atoll_start_image(int argc, char** argv);
