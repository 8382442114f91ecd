// The boot steps above the kernel. kernel_main brings up the core (time, event
// channels, threads, grants) and hands over here, to the layer that links
// everything: connect the console ring and xenstore, run the C and C++
// constructors, call main(). Keeping these steps here lets every layer include
// only the layers below it; the kernel names nothing above it but this entry.
#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "atoll/time.h"
#include "atoll/xenstore.h"
#include "console_front.h"

extern "C" void __libc_init_array();
extern "C" [[noreturn]] void atoll_run_main(int argc, char** argv);  // start.c: exit(main(argc, argv))

extern "C" [[noreturn]] void atoll_start_image(int argc, char** argv) {
  using namespace atl;
  (void)console::init();  // without a console ring, output stays on the hypercall
  if (platform::boot_info().store) {
    auto store = xs::boot_init();
    if (!store.ok()) kernel::panic("cannot connect to xenstore (error %d)", to_int(store.error()));
    auto control = xs::watch_control_shutdown_in_background();
    if (!control.ok()) kernel::panic("cannot watch control/shutdown (error %d)", to_int(control.error()));
  }
  __libc_init_array();
  platform::record_boot_milestone(true, time::monotonic_ns());
  atoll_run_main(argc, argv);
}
