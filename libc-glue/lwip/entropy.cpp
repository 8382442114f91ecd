// Randomness for the network stack (ports, sequence numbers, DNS ids) and for
// apps (getentropy). The CPU's RDRAND when CPUID says it has one; otherwise
// splitmix64 over the TSC, re-mixed with the TSC on every call so two domains
// started together still diverge. Not a cryptographic source in that case.
#include <cpuid.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace {

bool g_checked, g_has_rdrand;
uint64_t g_state;

uint64_t rdtsc() {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool rdrand(uint64_t& out) {
  for (int i = 0; i < 10; ++i) {
    unsigned char ok;
    __asm__ volatile("rdrand %0; setc %1" : "=r"(out), "=qm"(ok));
    if (ok) return true;
  }
  return false;
}

uint64_t splitmix() {
  uint64_t z = (g_state += 0x9e3779b97f4a7c15ULL ^ rdtsc());
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t random_u64() {
  if (!g_checked) {
    unsigned a, b, c, d;
    g_has_rdrand = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_RDRND);
    g_checked = true;
  }
  uint64_t v;
  if (g_has_rdrand && rdrand(v)) return v;
  return splitmix();
}

}  // namespace

extern "C" unsigned atoll_random_u32(void) { return static_cast<unsigned>(random_u64()); }

extern "C" int getentropy(void* buffer, size_t length) {
  if (length > 256) {
    errno = EIO;
    return -1;
  }
  auto* p = static_cast<uint8_t*>(buffer);
  while (length) {
    uint64_t v = random_u64();
    size_t n = length < sizeof v ? length : sizeof v;
    memcpy(p, &v, n);
    p += n;
    length -= n;
  }
  return 0;
}
