#include <stdarg.h>
#include <stdio.h>

#include "atoll/kernel.h"
#include "atoll/platform.h"

namespace atl::kernel {

namespace {
ConsoleSink g_sink;
}

void set_console_sink(ConsoleSink sink) { g_sink = sink; }

void console_write(const char* text, size_t length) {
  if (g_sink) g_sink(text, length);
  else console_write_early(text, length);
}

void console_write_early(const char* text, size_t length) { platform::console_write_early(text, length); }

void console_print(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) console_write(buf, n < static_cast<int>(sizeof buf) ? n : sizeof buf - 1);
}

}  // namespace atl::kernel
