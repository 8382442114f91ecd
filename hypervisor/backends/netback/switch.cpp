#include "switch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace atl::hv {
namespace {

constexpr int kIdleExitMs = 2000;  // how long an empty switch lingers
constexpr int kSocketBuffer = 4 << 20;

std::array<uint8_t, 6> mac_at(std::span<const uint8_t> frame, size_t offset) {
  std::array<uint8_t, 6> m;
  memcpy(m.data(), frame.data() + offset, 6);
  return m;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::string switch_dir() { return "/tmp/atoll-" + std::to_string(getuid()); }

void tune(int fd) {
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
}

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    tune(fd);
    return fd;
  }
  close(fd);
  return -1;
}

// The switch process: one poll loop over the listening socket and the ports.
// Leaving when idle: under the joiners' lock, so a connection that is on its
// way is either seen (and served) or finds no socket and starts a new switch.
// The lock file itself stays: joiners must agree on one inode.
bool leave_if_idle(int listener, const std::string& path) {
  int lock = open((path + ".lock").c_str(), O_RDWR | O_CLOEXEC);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) _exit(0);
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 0) == 1) {
    close(lock);
    return false;
  }
  unlink(path.c_str());
  _exit(0);
}

[[noreturn]] void serve(int listener, const std::string& path) {
  LearningSwitch sw;
  std::vector<pollfd> fds = {{listener, POLLIN, 0}};
  std::vector<uint8_t> frame(65536);
  for (;;) {
    int n = poll(fds.data(), fds.size(), fds.size() == 1 ? kIdleExitMs : -1);
    if (n == 0 && fds.size() == 1 && !leave_if_idle(listener, path)) continue;  // a newcomer
    if (n < 0) continue;
    if (fds[0].revents & POLLIN) {
      int port = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (port >= 0) {
        tune(port);
        fds.push_back({port, POLLIN, 0});
        sw.add_port(port);
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      ssize_t len = recv(fds[i].fd, frame.data(), frame.size(), MSG_DONTWAIT);
      if (len < 0 && errno == EAGAIN) continue;
      if (len <= 0) {
        sw.remove_port(fds[i].fd);
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      std::span<const uint8_t> f(frame.data(), static_cast<size_t>(len));
      for (int out : sw.route(fds[i].fd, f, now_ns())) send(out, f.data(), f.size(), MSG_DONTWAIT);
    }
    std::erase_if(fds, [](const pollfd& p) { return p.fd < 0; });
  }
}

// Forks the switch process, listening at `path`; false when someone else won the race.
bool start_switch(const std::string& path, std::string& error) {
  unlink(path.c_str());  // a stale socket of a switch that is gone
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
    error = "cannot listen on " + path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("cannot start the switch: ") + strerror(errno);
    close(fd);
    return false;
  }
  if (pid == 0) {
    // Outlives the atoll that started it; keeps only its socket.
    setsid();
    if (fork() != 0) _exit(0);
    for (int i = 0; i < 1024; ++i)
      if (i != fd) close(i);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    serve(fd, path);
  }
  close(fd);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

}  // namespace

void LearningSwitch::add_port(Port p) { m_ports.push_back(p); }

void LearningSwitch::remove_port(Port p) {
  std::erase(m_ports, p);
  std::erase_if(m_table, [p](const auto& e) { return e.second.port == p; });
}

std::vector<LearningSwitch::Port> LearningSwitch::route(Port in, std::span<const uint8_t> frame, uint64_t now) {
  if (frame.size() < 14) return {};
  auto src = mac_at(frame, 6), dst = mac_at(frame, 0);
  if (!(src[0] & 1)) {  // a group address is never a source
    if (m_table.size() >= kMaxEntries && !m_table.count(src))
      std::erase_if(m_table, [now](const auto& e) { return now - e.second.seen_ns > kAgeNs; });
    if (m_table.size() < kMaxEntries || m_table.count(src)) m_table[src] = Entry{in, now};
  }
  if (!(dst[0] & 1)) {
    auto it = m_table.find(dst);
    if (it != m_table.end() && now - it->second.seen_ns <= kAgeNs) {
      if (it->second.port == in) return {};  // already on its segment
      return {it->second.port};
    }
  }
  std::vector<Port> out;
  for (Port p : m_ports)
    if (p != in) out.push_back(p);
  return out;
}

bool valid_switch_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::unique_ptr<FramePort> join_switch(EventLoop& loop, const std::string& name, std::string& error) {
  if (!valid_switch_name(name)) {
    error = "switch name `" + name + "` may hold only letters, digits, - and _";
    return nullptr;
  }
  std::string dir = switch_dir();
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot create " + dir + ": " + strerror(errno);
    return nullptr;
  }
  std::string path = dir + "/switch-" + name;
  // One atoll at a time decides whether the switch must be started.
  int lock = open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    error = "cannot lock " + path + ".lock: " + strerror(errno);
    if (lock >= 0) close(lock);
    return nullptr;
  }
  int fd = connect_to(path);
  if (fd < 0 && start_switch(path, error)) fd = connect_to(path);
  close(lock);
  if (fd < 0) {
    if (error.empty()) error = "cannot join switch " + name + " at " + path + ": " + strerror(errno);
    return nullptr;
  }
  return FramePort::adopt(loop, fd, "switch " + name);
}

}  // namespace atl::hv
