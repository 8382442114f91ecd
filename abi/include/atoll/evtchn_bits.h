// The 2-level event-channel bitmaps of shared_info and the upcall flags of
// vcpu_info, exactly as Xen keeps them. Both sides of the ABI use these: the
// hypervisor sets pending bits, the guest masks, unmasks and consumes them.
//
// ORDERING: every access to these words is atomic. The hypervisor and the guest run
// concurrently on different CPUs, so a plain read-modify-write could lose a bit.
#pragma once

#include <stdint.h>
#include <xen/xen.h>

namespace atl::evtchn_bits {

inline constexpr unsigned kBitsPerWord = sizeof(xen_ulong_t) * 8;
inline constexpr unsigned kMaxPorts = kBitsPerWord * kBitsPerWord;  // 4096 for 2-level

inline bool test_and_set(xen_ulong_t* word, unsigned bit) {
  return __atomic_fetch_or(word, xen_ulong_t{1} << bit, __ATOMIC_SEQ_CST) & (xen_ulong_t{1} << bit);
}
inline bool test_and_clear(xen_ulong_t* word, unsigned bit) {
  return __atomic_fetch_and(word, ~(xen_ulong_t{1} << bit), __ATOMIC_SEQ_CST) & (xen_ulong_t{1} << bit);
}
inline bool test(const xen_ulong_t* word, unsigned bit) {
  return __atomic_load_n(word, __ATOMIC_SEQ_CST) & (xen_ulong_t{1} << bit);
}
inline xen_ulong_t* word_of(xen_ulong_t* array, unsigned port) { return &array[port / kBitsPerWord]; }

// What the sender must do after marking a port pending.
enum class Kick { kNone, kVcpu };

// Xen's evtchn_2l_set_pending: mark `port` pending; if it is unmasked and its
// selector bit was clear, raise the vCPU's upcall flag. Returns kVcpu when the
// upcall flag went from 0 to 1, i.e. when the vCPU must be woken or interrupted.
inline Kick set_pending(shared_info* s, vcpu_info* v, unsigned port) {
  if (test_and_set(word_of(s->evtchn_pending, port), port % kBitsPerWord)) return Kick::kNone;
  if (test(word_of(s->evtchn_mask, port), port % kBitsPerWord)) return Kick::kNone;
  if (test_and_set(&v->evtchn_pending_sel, port / kBitsPerWord)) return Kick::kNone;
  uint8_t was = __atomic_exchange_n(&v->evtchn_upcall_pending, uint8_t{1}, __ATOMIC_SEQ_CST);
  return was ? Kick::kNone : Kick::kVcpu;
}

// Xen's evtchn_2l_unmask: clear the mask; if the port is pending, re-raise the
// selector and upcall flags so the event is not lost.
inline Kick unmask(shared_info* s, vcpu_info* v, unsigned port) {
  if (!test_and_clear(word_of(s->evtchn_mask, port), port % kBitsPerWord)) return Kick::kNone;
  if (!test(word_of(s->evtchn_pending, port), port % kBitsPerWord)) return Kick::kNone;
  if (test_and_set(&v->evtchn_pending_sel, port / kBitsPerWord)) return Kick::kNone;
  uint8_t was = __atomic_exchange_n(&v->evtchn_upcall_pending, uint8_t{1}, __ATOMIC_SEQ_CST);
  return was ? Kick::kNone : Kick::kVcpu;
}

inline void mask(shared_info* s, unsigned port) { test_and_set(word_of(s->evtchn_mask, port), port % kBitsPerWord); }
inline void clear_pending(shared_info* s, unsigned port) {
  test_and_clear(word_of(s->evtchn_pending, port), port % kBitsPerWord);
}
inline bool is_pending(const shared_info* s, unsigned port) {
  return test(&s->evtchn_pending[port / kBitsPerWord], port % kBitsPerWord);
}
inline bool is_masked(const shared_info* s, unsigned port) {
  return test(&s->evtchn_mask[port / kBitsPerWord], port % kBitsPerWord);
}

// The guest's upcall scan: for every selected word, every pending and unmasked
// port, clear its pending bit and call `handle(port)`. The upcall flag is cleared
// first, so an event raised during the scan raises it again.
template <typename Handler>
inline unsigned consume(shared_info* s, vcpu_info* v, Handler&& handle) {
  unsigned handled = 0;
  __atomic_store_n(&v->evtchn_upcall_pending, uint8_t{0}, __ATOMIC_SEQ_CST);
  xen_ulong_t selector = __atomic_exchange_n(&v->evtchn_pending_sel, xen_ulong_t{0}, __ATOMIC_SEQ_CST);
  while (selector) {
    unsigned word = __builtin_ctzl(selector);
    selector &= selector - 1;
    xen_ulong_t ready = __atomic_load_n(&s->evtchn_pending[word], __ATOMIC_SEQ_CST) &
                        ~__atomic_load_n(&s->evtchn_mask[word], __ATOMIC_SEQ_CST);
    while (ready) {
      unsigned bit = __builtin_ctzl(ready);
      ready &= ready - 1;
      unsigned port = word * kBitsPerWord + bit;
      clear_pending(s, port);
      handle(port);
      ++handled;
    }
  }
  return handled;
}

}  // namespace atl::evtchn_bits
