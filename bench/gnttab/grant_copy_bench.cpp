// Grant copy throughput, backend side: GrantTable::copy_from (validate the ref,
// acquire the entry, copy, release) against a plain memcpy of the same bytes from
// the same guest memory, in one run. Sizes: 4 KiB (one page per op) and 512 B.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "atoll/gnttab_v1.h"
#include "gnttab.h"

using namespace atl;
using namespace atl::hv;

namespace {

constexpr unsigned kMaxPages = 16384;  // up to 64 MiB of granted guest pages
constexpr int kRounds = 7;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double gbps(size_t bytes_per_round, Fn fn) {
  std::vector<double> runs;
  for (int r = 0; r < kRounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    runs.push_back(bytes_per_round / s / 1e9);
  }
  return median(runs);
}

}  // namespace

int main() {
  std::string error;
  auto mem = GuestMemory::try_create((kMaxPages + 16) * 4096ULL, error);
  if (!mem) { fprintf(stderr, "%s\n", error.c_str()); return 1; }
  GrantTable table(*mem, DomId(1));
  uint64_t gfns[GrantTable::kMaxFrames];
  table.setup(GrantTable::kMaxFrames, gfns);
  auto* entries = reinterpret_cast<grant_entry_v1_t*>(mem->frame(GrantTable::kFirstFrame));
  for (unsigned i = 0; i < kMaxPages - 8; ++i) {
    gnttab_v1::grant(&entries[8 + i], 0, 16 + i, true);
    std::memset(mem->ram_at((16 + i) * 4096ULL), static_cast<int>(i), 4096);
  }
  std::vector<uint8_t> dst(4096 * 64);
  printf("| working set | copy size | memcpy GB/s | grant copy GB/s | ratio |\n|---|---|---:|---:|---:|\n");
  for (unsigned kPages : {1024u, kMaxPages - 8})
  for (size_t size : {size_t{4096}, size_t{512}}) {
    size_t bytes = kPages * size * 8;
    double plain = gbps(bytes, [&] {
      for (int rep = 0; rep < 8; ++rep)
        for (unsigned i = 0; i < kPages; ++i)
          std::memcpy(dst.data() + (i % 64) * 4096, mem->ram_at((16 + i) * 4096ULL), size);
    });
    bool ok = true;
    double granted = gbps(bytes, [&] {
      for (int rep = 0; rep < 8; ++rep)
        for (unsigned i = 0; i < kPages; ++i)
          ok &= table.copy_from(GrantRef(8 + i), DomId(0), 0, {dst.data() + (i % 64) * 4096, size}) == GrantStatus::kOkay;
    });
    if (!ok) { fprintf(stderr, "grant copy failed\n"); return 1; }
    printf("| %u MiB | %zu B | %.2f | %.2f | %.2fx |\n", kPages / 256, size, plain, granted, granted / plain);
  }
  return 0;
}
