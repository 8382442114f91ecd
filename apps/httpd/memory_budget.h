// How much heap httpd lets its connections hold. Each connection is charged
// for what it keeps (its object, the kernel-side socket state estimated, its
// request buffer, its reply head); a new connection is served only while the
// budget has room for one more with a full request head, answered 503 while
// a small overdraft lasts, and closed at once beyond that. Connections
// already served are never cut off: their growth is bounded by the parse
// limits and the budget leaves the rest of the heap as slack.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace atl::httpd {

class MemoryBudget {
 public:
  enum class Admission { Serve, Refuse, Drop };

  // `limit` 0: no budget (every connection is served).
  explicit MemoryBudget(uint64_t limit) : m_limit(limit) {}

  // Whether a new connection that may grow to `room` bytes is served.
  Admission admit(uint64_t room) const;

  uint64_t limit() const { return m_limit; }
  uint64_t used() const { return m_used; }

  // One connection's share: follows its footprint, released when it ends.
  class Charge {
   public:
    explicit Charge(MemoryBudget& budget) : m_budget(budget) {}
    ~Charge() { set(0); }
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    void set(uint64_t bytes);
    uint64_t bytes() const { return m_bytes; }

   private:
    MemoryBudget& m_budget;
    uint64_t m_bytes = 0;
  };

 private:
  uint64_t m_limit;
  uint64_t m_used = 0;
};

// The default: in an appliance half of the heap still free at start (the
// other half is lwIP's socket buffers, the file cache and slack); natively
// none, as a Linux process has the host's memory behind it.
uint64_t default_memory_budget();

}  // namespace atl::httpd
