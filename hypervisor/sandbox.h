// Guest processes before they are guests. A sandbox is an atoll-loader process
// (loader/loader.cpp) that has not yet been given a domain's memory: spawned
// with it at once (spawn_sandbox), or ahead of time by a SandboxPool and handed
// the memory later over a socket, so a create under the daemon does not wait
// for a spawn and an exec (docs/fleet.md, "Creating fast").
#pragma once

#include <signal.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.h"

namespace atl::hv {

// A loader process that owes the hypervisor its status byte: the domain that
// adopts it owns every descriptor here.
struct Sandbox {
  int pid = -1;
  int pidfd = -1;
  int status_fd = -1;  // the loader's status pipe (non-blocking)
};

// Spawns a loader with the domain's memfds as its kLoaderMemoryFd and
// kLoaderHvFramesFd; it seals the guest at once.
std::optional<Sandbox> spawn_sandbox(int ram_fd, int frames_fd, std::string& error);

// Loader processes started ahead of need, each blocked on a socket until a
// domain's memfds arrive (the loader's pool mode). A thread of its own starts
// them, so the loop thread never waits for a spawn and an exec (~0.5 ms of
// CPU each here, docs/fleet.md "Creating fast"): it keeps `size` waiting,
// refilling a few milliseconds after the last create took one, and starts
// one at once for a create that found none (a claim).
class SandboxPool {
 public:
  // Called from the loop with the loader that took a claim's memfds, or with
  // nullopt when the spawner could not start one (the caller spawns its own,
  // which says why).
  using Ready = std::function<void(std::optional<Sandbox>)>;

  SandboxPool(EventLoop& loop, size_t size);
  ~SandboxPool();
  SandboxPool(const SandboxPool&) = delete;
  SandboxPool& operator=(const SandboxPool&) = delete;

  // A waiting loader given these memfds (it seals the guest now), or nullopt
  // when none is ready.
  std::optional<Sandbox> adopt(int ram_fd, int frames_fd);
  // When adopt found none: the next loader the spawner starts gets these
  // memfds (keep them open until `ready` runs). Returns a ticket for cancel,
  // or 0 when the pool is off (size 0) or its last spawn failed: then nothing
  // will be called, and the caller spawns its own.
  uint64_t claim(int ram_fd, int frames_fd, Ready ready);
  void cancel(uint64_t ticket);
  size_t ready() const;
  size_t size() const { return m_size; }

 private:
  struct Waiting {
    Sandbox sandbox;
    int socket_fd = -1;
  };
  struct Claim {
    uint64_t ticket;
    int ram_fd, frames_fd;
    Ready ready;
  };
  void schedule_refill();
  void spawner();
  void answer_claims();
  void discard(Waiting& w);

  EventLoop& m_loop;
  const size_t m_size;
  int m_wake_fd = -1;  // eventfd: the spawner tells the loop a claim can be answered
  sigset_t m_loader_mask;  // the loop thread's, for the loaders the spawner starts

  // Shared with the spawner thread, under m_mutex.
  mutable std::mutex m_mutex;
  std::condition_variable m_wake_spawner;
  std::vector<Waiting> m_waiting;
  size_t m_claimed = 0;          // claims not answered yet
  bool m_spawn_failed = false;   // since the loop last answered claims
  bool m_stop = false;
  bool m_refill = true;  // fill up to m_size (at the start, then when the refill timer says)

  std::deque<Claim> m_claims;  // the loop's only
  std::optional<EventLoop::TimerId> m_refill_timer;
  uint64_t m_next_ticket = 1;
  std::thread m_thread;
};

}  // namespace atl::hv
