#include "uplink_passt.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern char** environ;

namespace atl::hv {
namespace {

constexpr int kSocketBuffer = 4 << 20;
constexpr int kStartMs = 5000;
constexpr const char* kGuestAddr = "10.0.2.15";

std::string ipv4_text(uint32_t addr) {
  char buf[INET_ADDRSTRLEN];
  in_addr in{addr};
  inet_ntop(AF_INET, &in, buf, sizeof buf);
  return buf;
}

// Whether the host port of `fwd` can be bound now: errno is left set when not.
bool port_free(const HostFwd& fwd) {
  int fd = socket(AF_INET, (fwd.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // A TCP port whose last connections linger in TIME_WAIT is free all the
  // same (passt sets SO_REUSEADDR too); a listening socket still holds it.
  // Not for UDP, where SO_REUSEADDR would share a port already bound.
  int one = 1;
  if (!fwd.udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(fwd.host_port);
  sa.sin_addr.s_addr = fwd.host_addr;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  int e = errno;
  close(fd);
  errno = e;
  return ok;
}

std::string describe(const HostFwd& fwd) {
  return std::string(fwd.udp ? "udp " : "tcp ") + (fwd.host_addr ? ipv4_text(fwd.host_addr) : "*") + ":" +
         std::to_string(fwd.host_port);
}

// passt's port spec: [ADDR/]HOSTPORT:GUESTPORT.
std::string port_spec(const HostFwd& fwd) {
  std::string spec = fwd.host_addr ? ipv4_text(fwd.host_addr) + "/" : "";
  return spec + std::to_string(fwd.host_port) + ":" + std::to_string(fwd.guest_port);
}

std::vector<std::string> passt_args(const std::string& exe, const VifConfig& vif) {
  std::vector<std::string> args = {exe, "--foreground", "--quiet", "--one-off", "--fd", "3",
                                   // The network libslirp gives, so a guest sees no difference.
                                   "--address", kGuestAddr, "--netmask", "24", "--gateway", "10.0.2.2",
                                   // Queries to 10.0.2.3 go to the host's resolver
                                   // (--dns would replace that resolver).
                                   "--dns-forward", "10.0.2.3",
                                   // The wire MTU netfront has; passt's default is 65520.
                                   "--mtu", "1500"};
  for (const HostFwd& f : vif.hostfwd) {
    args.push_back(f.udp ? "--udp-ports" : "--tcp-ports");
    args.push_back(port_spec(f));
  }
  // More of passt's own options, for diagnosis (e.g. "--pcap /tmp/vif.pcap").
  if (const char* extra = getenv("ATOLL_PASST_ARGS")) {
    std::string all = extra;
    for (size_t at = 0; at < all.size();) {
      size_t end = std::min(all.find(' ', at), all.size());
      if (end > at) args.push_back(all.substr(at, end - at));
      at = end + 1;
    }
  }
  return args;
}

// Reads what passt said on its way out (it exits with a message when an
// option or a port is refused).
std::string drain(int fd) {
  std::string text;
  char buf[1024];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

// What passt said, less the noise it makes on every start here: a missing
// syslog, and the notice that it drops root.
std::vector<std::string> meaningful_lines(const std::string& text) {
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find('\n', at), text.size());
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.find("syslog") == std::string::npos && line.find("as root") == std::string::npos)
      lines.push_back(line);
    at = end + 1;
  }
  return lines;
}

struct Spawned {
  pid_t pid = -1;
  int sock = -1;    // our end of the frame stream
  int output = -1;  // passt's stderr
};

Spawned spawn_passt(const std::vector<std::string>& args, std::string& error) {
  int sv[2], out[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    error = std::string("cannot create passt's sockets: ") + strerror(errno);
    return {};
  }
  for (int fd : sv) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  }
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);  // dup2 clears CLOEXEC
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(sv[1]);
  close(out[1]);
  if (rc != 0) {
    close(sv[0]);
    close(out[0]);
    error = "cannot start " + args[0] + ": " + strerror(rc);
    return {};
  }
  return {pid, sv[0], out[0]};
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

// Waits until passt listens on every forwarded port (binding it then fails),
// or exits; false with `error` set when it does not get there.
bool wait_listening(const Spawned& p, const VifConfig& vif, std::string& error) {
  for (int waited = 0; waited < kStartMs; waited += 2) {
    int status;
    if (waitpid(p.pid, &status, WNOHANG) == p.pid) {
      fcntl(p.output, F_SETFL, O_NONBLOCK);
      std::string said;
      for (const std::string& line : meaningful_lines(drain(p.output))) said += (said.empty() ? "" : "; ") + line;
      error = "passt exited before the guest started" + (said.empty() ? std::string() : ": " + said);
      return false;
    }
    bool all = true;
    for (const HostFwd& f : vif.hostfwd) all = all && !port_free(f);
    if (all) return true;
    poll(nullptr, 0, 2);
  }
  error = "passt did not listen on the forwarded ports within " + std::to_string(kStartMs / 1000) + " s";
  stop(p.pid);
  return false;
}

}  // namespace

std::string find_passt() {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  dirs += ":/usr/sbin:/usr/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/passt";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::unique_ptr<FramePort> open_passt(EventLoop& loop, const VifConfig& vif, const std::string& exe,
                                      std::string& error) {
  in_addr guest{};
  inet_pton(AF_INET, kGuestAddr, &guest);
  for (const HostFwd& f : vif.hostfwd) {
    if (f.guest_addr != 0 && f.guest_addr != guest.s_addr) {
      error = "hostfwd to " + ipv4_text(f.guest_addr) + ": passt forwards to the guest's own address only "
              "(use backend=slirp)";
      return nullptr;
    }
    if (!port_free(f)) {
      error = "cannot forward " + describe(f) + ": " + strerror(errno);
      return nullptr;
    }
  }
  Spawned p = spawn_passt(passt_args(exe, vif), error);
  if (p.pid < 0) return nullptr;
  if (!wait_listening(p, vif, error)) {
    close(p.sock);
    close(p.output);
    return nullptr;
  }
  auto port = FramePort::adopt(loop, p.sock, "user networking (passt pid " + std::to_string(p.pid) + ")",
                               Framing::kLengthPrefixed);
  if (!port) {
    stop(p.pid);
    close(p.output);
    error = "cannot watch passt's socket";
    return nullptr;
  }
  // passt's output stays open (a closed pipe would kill it with SIGPIPE); what
  // it says later is passed on, less its complaints about a missing syslog.
  int output = p.output;
  fcntl(output, F_SETFL, O_NONBLOCK);
  loop.add_fd(output, EPOLLIN, [&loop, output](uint32_t) {
    std::string said = drain(output);
    if (said.empty()) loop.remove_fd(output);  // passt is gone
    for (const std::string& line : meaningful_lines(said)) fprintf(stderr, "passt: %s\n", line.c_str());
  });
  port->set_guest_ip(std::string(kGuestAddr) + " 255.255.255.0 10.0.2.2 10.0.2.3");
  port->set_leaves_handshakes_open();
  pid_t pid = p.pid;
  port->set_on_close([&loop, pid, output] {
    loop.remove_fd(output);
    close(output);
    stop(pid);
  });
  return port;
}

}  // namespace atl::hv
