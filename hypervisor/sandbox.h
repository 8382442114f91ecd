// Guest processes before they are guests. A sandbox is an atoll-loader process
// (loader/loader.cpp) that has not yet been given a domain's memory: spawned
// with it at once (spawn_sandbox), or ahead of time by a SandboxPool and handed
// the memory later over a socket, so a create under the daemon does not wait
// for a spawn and an exec (docs/fleet.md, "Creating fast").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
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
// domain's memfds arrive (the loader's pool mode). Refilled from the event
// loop a few milliseconds after a create takes one, one spawn per turn of the
// loop; an empty pool only means the next create spawns its own.
class SandboxPool {
 public:
  SandboxPool(EventLoop& loop, size_t size);
  ~SandboxPool();
  SandboxPool(const SandboxPool&) = delete;
  SandboxPool& operator=(const SandboxPool&) = delete;

  // A waiting loader given these memfds (it seals the guest now), or nullopt
  // when none is ready.
  std::optional<Sandbox> adopt(int ram_fd, int frames_fd);
  size_t ready() const { return m_waiting.size(); }
  size_t size() const { return m_size; }

 private:
  struct Waiting {
    Sandbox sandbox;
    int socket_fd = -1;
  };
  void schedule_refill();
  void refill_one();
  void discard(Waiting& w);

  EventLoop& m_loop;
  size_t m_size;
  std::vector<Waiting> m_waiting;
  std::optional<EventLoop::TimerId> m_refill;
};

}  // namespace atl::hv
