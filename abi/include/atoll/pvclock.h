// pvclock arithmetic (xen/xen.h, struct vcpu_time_info), shared by the hypervisor
// that publishes the clock and the guest that reads it.
#pragma once

#include <stdint.h>

namespace atl::pvclock {

// ABI: vcpu_time_info: time = system_time + ((((tsc - tsc_timestamp) << shift) * mul) >> 32),
// with a negative shift meaning a right shift.
inline uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift) {
  if (shift < 0) delta >>= -shift; else delta <<= shift;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * mul) >> 32);
}

struct Scale {
  uint32_t mul;
  int8_t shift;
};

// Finds (mul, shift) such that scale_delta(ticks) ~= ticks * 1e9 / tsc_hz, keeping
// mul in [2^31, 2^32) for the best precision, as Xen's set_time_scale does.
inline Scale scale_for_frequency(uint64_t tsc_hz) {
  uint64_t numerator = 1000000000ULL;  // ns per second
  uint64_t denominator = tsc_hz;
  int8_t shift = 0;
  // Bring numerator/denominator into [0.5, 1) so the fraction fits 32 bits.
  while (denominator > (numerator << 1)) { numerator <<= 1; --shift; }
  while (numerator >= denominator) {
    if (denominator & (1ULL << 63)) { numerator >>= 1; } else { denominator <<= 1; }
    ++shift;
    if (shift > 31) break;
  }
  uint64_t mul = (static_cast<unsigned __int128>(numerator) << 32) / denominator;
  if (mul > 0xFFFFFFFFULL) mul = 0xFFFFFFFFULL;
  return {static_cast<uint32_t>(mul), shift};
}

// Inverse: the TSC frequency a (mul, shift) pair encodes (xen.h's formula).
inline uint64_t frequency_of(Scale s) {
  unsigned __int128 hz = (static_cast<unsigned __int128>(1000000000ULL) << 32) / s.mul;
  return s.shift < 0 ? static_cast<uint64_t>(hz << -s.shift) : static_cast<uint64_t>(hz >> s.shift);
}

}  // namespace atl::pvclock
