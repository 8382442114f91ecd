#include "stop_signals.h"

#include <signal.h>
#include <sys/signalfd.h>

#include <initializer_list>

namespace atl::hv {

int take_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  return signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

}  // namespace atl::hv
