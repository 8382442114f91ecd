// XenStore daemon throughput as the number of connected domains grows.
//
// For 1, 100 and 1000 domains (each with xl's layout, a ring and a watch):
//   ring:   guests play their side of the ring in-process (ByteRingView), one
//           request per event channel notification, round-robin over all domains;
//   socket: a host client on the Unix socket (the daemon in a child process),
//           round-robin over all domains' paths.
// Ops: read, write, and watch-fire (a write whose watch event reaches its
// watcher, who takes it). Ring ops run twice: round-robin over all N domains,
// and from one domain while the others are connected but idle; the first adds
// the cache footprint of N domains' rings and state to the algorithmic cost. Prints ops/s and the 1000-domain / 1-domain cost
// per op (the goal is <= 1.5x) as a markdown table.
//
//   xenstore-bench [--quick]
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.h"
#include "xenstored.h"
#include "xs_guest_ring.h"

namespace xs = atl::hv::xs;
using xs::MsgType;
using xs::test::GuestRing;
using xs::test::path_arg;
using xs::test::request;

namespace {

const int kDomainCounts[] = {1, 100, 1000};

double now_ns() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

// Best of `reps` runs of `ops` calls, in ns per op.
double measure(int ops, int reps, const std::function<void(int)>& op) {
  for (int i = 0; i < ops / 10; ++i) op(i);  // warm up
  double best = 1e18;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_ns();
    for (int i = 0; i < ops; ++i) op(i);
    best = std::min(best, (now_ns() - t0) / ops);
  }
  return best;
}

void fail(const char* what) {
  std::fprintf(stderr, "xenstore-bench: %s\n", what);
  std::exit(1);
}

// N guests, each introduced with its ring and watching data/watched.
struct Guests {
  explicit Guests(int n) : rings(static_cast<size_t>(n)) {
    for (int d = 1; d <= n; ++d) {
      daemon.create_domain_layout(static_cast<uint16_t>(d), "bench" + std::to_string(d), 65536);
      GuestRing& g = ring(d);
      daemon.introduce(static_cast<uint16_t>(d), g.page(), [&g] { ++g.notifications; });
      g.send(request(MsgType::kWatch, path_arg("data/watched") + path_arg("w")));
      daemon.on_guest_event(static_cast<uint16_t>(d));
      if (g.receive().size() != 2) fail("watch setup");
    }
  }
  GuestRing& ring(int d) { return rings[static_cast<size_t>(d - 1)]; }
  // One request from domain d, answered.
  void call(int d, const std::string& msg) {
    GuestRing& g = ring(d);
    g.send(msg);
    daemon.on_guest_event(static_cast<uint16_t>(d));
    if (g.receive().size() != 1) fail("no reply on the ring");
  }

  atl::hv::EventLoop loop;
  xs::Xenstored daemon{loop};
  std::deque<GuestRing> rings;  // stable addresses
};

struct Row {
  const char* op;
  const char* transport;
  double ns[3];
};

// `all_active`: requests come round-robin from every connected domain (the
// per-domain state of all N is in play); otherwise from domain 1 alone while
// the other N-1 sit connected with their nodes and watches.
std::vector<Row> bench_rings(int ops, bool all_active) {
  const char* kind = all_active ? "ring, all N active" : "ring, 1 of N active";
  std::vector<Row> rows{{"read", kind, {}}, {"write", kind, {}}, {"watch-fire", kind, {}}};
  for (int k = 0; k < 3; ++k) {
    int n = kDomainCounts[k];
    int active = all_active ? n : 1;
    Guests g(n);
    std::string read_msg = request(MsgType::kRead, path_arg("name"));
    rows[0].ns[k] = measure(ops, 5, [&](int i) { g.call(1 + i % active, read_msg); });
    rows[1].ns[k] = measure(ops, 5, [&](int i) {
      g.call(1 + i % active, request(MsgType::kWrite, path_arg("data/k") + std::to_string(i)));
    });
    std::vector<std::string> watched;
    for (int d = 1; d <= n; ++d) watched.push_back("/local/domain/" + std::to_string(d) + "/data/watched");
    rows[2].ns[k] = measure(ops, 5, [&](int i) {
      int d = 1 + i % active;
      if (!g.daemon.write(watched[static_cast<size_t>(d - 1)], std::to_string(i)).ok()) fail("write");
      if (g.ring(d).receive().size() != 1) fail("no watch event on the ring");
    });
  }
  return rows;
}

// The toolstack's part: xl's layout for one more domain (in a transaction,
// under a /local/domain of N) and its removal.
Row bench_layout(int ops) {
  Row row{"layout create+destroy", "dom0 in-process", {}};
  for (int k = 0; k < 3; ++k) {
    Guests g(kDomainCounts[k]);
    row.ns[k] = measure(ops, 3, [&](int i) {
      uint16_t d = static_cast<uint16_t>(2000 + i % 100);
      g.daemon.create_domain_layout(d, "extra", 1024);
      g.daemon.destroy_domain_layout(d);
    });
  }
  return row;
}

// --- socket: the daemon in a child, this process the host tool -------------

pid_t spawn_daemon(int n, const std::string& sock) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
  Guests g(n);
  std::string error;
  if (!g.daemon.listen(sock, error)) fail(error.c_str());
  g.loop.add_fd(sig_fd, EPOLLIN, [&](uint32_t) { g.loop.stop(); });
  g.loop.run();
  _exit(0);
}

class HostClient {
 public:
  explicit HostClient(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    for (int i = 0; i < 3000; ++i) {  // the child sets up its domains first
      m_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return;
      close(m_fd);
      usleep(10000);
    }
    fail("cannot connect to the daemon");
  }
  ~HostClient() { close(m_fd); }
  // Sends one request and reads messages until `want` have arrived.
  void call(const std::string& msg, int want = 1) {
    if (write(m_fd, msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) fail("send");
    int got = 0;
    while (got < want) {
      ssize_t n = read(m_fd, m_buf, sizeof(m_buf));
      if (n <= 0) fail("daemon hung up");
      for (ssize_t off = 0; off < n;) {
        off += static_cast<ssize_t>(m_in.feed(m_buf + off, static_cast<size_t>(n - off)));
        if (m_in.ready()) {
          m_in.take();
          ++got;
        }
      }
    }
  }

 private:
  int m_fd = -1;
  char m_buf[8192];
  xs::MessageAssembler m_in;
};

std::vector<Row> bench_socket(int ops) {
  std::vector<Row> rows{{"read", "socket", {}}, {"write", "socket", {}}, {"watch-fire", "socket", {}}};
  for (int k = 0; k < 3; ++k) {
    int n = kDomainCounts[k];
    std::string sock = "/tmp/atoll-xs-bench-" + std::to_string(getpid()) + ".sock";
    pid_t child = spawn_daemon(n, sock);
    {
      HostClient c(sock);
      std::vector<std::string> home;
      for (int d = 1; d <= n; ++d) home.push_back("/local/domain/" + std::to_string(d));
      auto at = [&](int i) -> const std::string& { return home[static_cast<size_t>(i % n)]; };
      rows[0].ns[k] = measure(ops, 3, [&](int i) { c.call(request(MsgType::kRead, path_arg(at(i) + "/name"))); });
      rows[1].ns[k] = measure(ops, 3, [&](int i) {
        c.call(request(MsgType::kWrite, path_arg(at(i) + "/data/k") + std::to_string(i)));
      });
      for (int d = 0; d < n; ++d)
        c.call(request(MsgType::kWatch, path_arg(home[static_cast<size_t>(d)] + "/data/host") + path_arg("h")), 2);
      rows[2].ns[k] = measure(ops, 3, [&](int i) {
        c.call(request(MsgType::kWrite, path_arg(at(i) + "/data/host") + std::to_string(i)), 2);
      });
    }
    kill(child, SIGTERM);
    waitpid(child, nullptr, 0);
  }
  return rows;
}

void print(const std::vector<Row>& rows) {
  std::printf("| op | transport | 1 domain | 100 domains | 1000 domains | cost 1000/1 | <= 1.5x |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s |", r.op, r.transport);
    for (double ns : r.ns) std::printf(" %.0f kops/s (%.2f us) |", 1e6 / ns, ns / 1000);
    double ratio = r.ns[2] / r.ns[0];
    std::printf(" %.2fx | %s |\n", ratio, ratio <= 1.5 ? "yes" : "no");
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::vector<Row> rows = bench_rings(quick ? 2000 : 100000, true);
  std::vector<Row> one = bench_rings(quick ? 2000 : 100000, false);
  std::vector<Row> sock = bench_socket(quick ? 500 : 20000);
  rows.insert(rows.end(), one.begin(), one.end());
  rows.push_back(bench_layout(quick ? 200 : 5000));
  rows.insert(rows.end(), sock.begin(), sock.end());
  std::printf("XenStore daemon: ops/s with N domains connected (each with xl's layout, a ring and a watch)\n\n");
  print(rows);
  std::printf("\nThe goal is a 1000-domain cost per op within 1.5x of the 1-domain cost.\n"
              "\"All N active\" also pays for N domains' rings and state falling out of the caches.\n");
  return 0;
}
