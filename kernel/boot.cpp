// kernel_main: from the platform's entry to the image's start above the kernel
// (atoll_start_image: console, xenstore, constructors, main()).
#include <string.h>
#include <xen/xen.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "atoll/sched.h"
#include "atoll/time.h"

namespace atl::kernel {
namespace {

constexpr int kMaxArgs = 64;
char g_cmdline[MAX_GUEST_CMDLINE];
char* g_argv[kMaxArgs + 1];
int g_argc;

// Splits the command line the way `atoll run` quotes it: whitespace separates,
// double quotes group, backslash escapes the next character.
void parse_cmdline(const char* src) {
  strncpy(g_cmdline, src, sizeof g_cmdline - 1);
  char* in = g_cmdline;
  char* out = g_cmdline;
  while (*in && g_argc < kMaxArgs) {
    while (*in == ' ' || *in == '\t') ++in;
    if (!*in) break;
    g_argv[g_argc++] = out;
    bool quoted = false;
    for (; *in && (quoted || (*in != ' ' && *in != '\t')); ++in) {
      if (*in == '"') { quoted = !quoted; continue; }
      if (*in == '\\' && in[1]) ++in;
      *out++ = *in;
    }
    if (*in) ++in;
    *out++ = '\0';
  }
  static char fallback[] = "atoll";
  if (g_argc == 0) g_argv[g_argc++] = fallback;
  g_argv[g_argc] = nullptr;
}

void on_timer(EvtchnPort, void*) {
  // Nothing to do here: the scheduler compares deadlines with the clock whenever
  // it runs, and this event is what got it running.
}

}  // namespace

int argc() { return g_argc; }
char** argv() { return g_argv; }

}  // namespace atl::kernel

extern "C" [[noreturn]] void kernel_main() {
  using namespace atl;
  time::init();
  platform::record_boot_milestone(false, time::monotonic_ns());
  evtchn::init();
  platform::register_event_callback();
  sched::init();
  auto timer = evtchn::bind_virq(VIRQ_TIMER, kernel::on_timer, nullptr);
  if (!timer.ok()) kernel::panic("cannot bind VIRQ_TIMER (error %d)", to_int(timer.error()));
  evtchn::upcalls_restore(0);  // events flow from here on
  auto grants = gnttab::init();
  if (!grants.ok()) kernel::panic("cannot set up the grant table (error %d)", to_int(grants.error()));
  kernel::parse_cmdline(platform::boot_info().cmdline);
  atoll_start_image(kernel::g_argc, kernel::g_argv);
}
