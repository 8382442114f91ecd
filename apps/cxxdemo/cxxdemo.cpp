// A small C++ appliance using the standard-library pieces apps reach for; it
// checks each result and exits non-zero on the first wrong one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

int g_failures = 0;

void check(bool ok, const char* what) {
  std::printf("%-40s %s\n", what, ok ? "ok" : "FAILED");
  if (!ok) ++g_failures;
}

// A global with a constructor: C++ static initialisation must have run.
struct Registry {
  Registry() : greeting("constructed before main") {}
  std::string greeting;
} g_registry;

std::optional<int> parse_number(const std::string& text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(text);
}

long sum(std::span<const int> values) {
  long total = 0;
  for (int v : values) total += v;
  return total;
}

}  // namespace

int main() {
  check(g_registry.greeting == "constructed before main", "static constructors");

  std::string s = "unikernel";
  s += std::string(100, '!');  // well past the small-string buffer
  check(s.size() == 109 && s.substr(0, 4) == "unik", "std::string");

  std::vector<int> v{5, 3, 9, 1, 7};
  std::sort(v.begin(), v.end());
  check((v == std::vector<int>{1, 3, 5, 7, 9}), "std::vector + std::sort");

  std::unordered_map<std::string, int> words;
  for (const char* w : {"ring", "grant", "ring", "event", "ring"}) ++words[w];
  check(words["ring"] == 3 && words.size() == 3, "std::unordered_map");

  check(parse_number("1234") == 1234 && !parse_number("12a"), "std::optional");
  check(sum(std::span<const int>(v)) == 25, "std::span");

  std::atomic<int> counter{0};
  for (int i = 0; i < 1000; ++i) counter.fetch_add(1, std::memory_order_relaxed);
  check(counter.load() == 1000, "std::atomic");

  auto t0 = std::chrono::steady_clock::now();
  auto t1 = std::chrono::steady_clock::now();
  check(t1 >= t0, "std::chrono::steady_clock is monotonic");
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  check(std::chrono::duration_cast<std::chrono::hours>(since_epoch).count() > 24 * 365 * 50,
        "std::chrono::system_clock is the wallclock");

  std::printf("%s\n", g_failures ? "cxxdemo: FAILED" : "cxxdemo: all checks passed");
  return g_failures ? 1 : 0;
}
