#include "uplink.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "switch.h"
#include "tcp_splice.h"
#include "uplink_passt.h"

extern char** environ;

namespace atl::hv {
namespace {

constexpr int kSocketBuffer = 4 << 20;  // room for bursts between the two loops
constexpr int kHelperStartMs = 5000;

// The helper is our child: it is stopped and reaped with its port, so a
// daemon that outlives many domains collects no zombies. SIGKILL bounds the
// wait (the helper has nothing to save: its socket is closed already).
void stop_helper(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::unique_ptr<FramePort> open_slirp(EventLoop& loop, const VifConfig& vif, std::string& error) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    error = std::string("cannot create the slirp socket pair: ") + strerror(errno);
    return nullptr;
  }
  for (int fd : sv) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  }
  std::string exe = helper_path("atoll-slirp");
  std::vector<std::string> args = {exe};
  // TCP forwards are the hypervisor's own (tcp_splice.h) unless
  // backend=slirp asks for libslirp's.
  bool splice = vif.backend == UserBackend::kAuto;
  for (const HostFwd& f : vif.hostfwd) {
    if (splice && !f.udp) continue;
    args.push_back("--hostfwd");
    args.push_back(format_hostfwd(f));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);  // dup2 clears CLOEXEC
  pid_t pid;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    error = "cannot start " + exe + ": " + strerror(rc);
    return nullptr;
  }
  // The helper's first message says whether slirp and every hostfwd are up.
  pollfd p{sv[0], POLLIN, 0};
  char status[512] = {};
  ssize_t n = poll(&p, 1, kHelperStartMs) == 1 ? recv(sv[0], status, sizeof status - 1, 0) : -1;
  if (n <= 0 || strncmp(status, "ok", 2) != 0) {
    close(sv[0]);
    stop_helper(pid);
    error = n > 0 ? std::string(status + (strncmp(status, "error: ", 7) == 0 ? 7 : 0))
                  : "atoll-slirp did not start (" + exe + ")";
    return nullptr;
  }
  // It also dies with this process (PR_SET_PDEATHSIG, in atoll_slirp.cpp).
  auto port = FramePort::adopt(loop, sv[0], "user networking (atoll-slirp pid " + std::to_string(pid) + ")");
  if (!port) {
    stop_helper(pid);
    error = "cannot watch atoll-slirp's socket";
    return nullptr;
  }
  port->set_on_close([pid] { stop_helper(pid); });
  if (!splice) return port;
  auto forwards = TcpSplice::try_create(loop, *port, vif.hostfwd, vif.max_connections, error);
  if (!forwards) return nullptr;
  port->set_interceptor(std::move(forwards));
  return port;
}

// Attaches a fresh /dev/net/tun descriptor to TAP `name` with `flags`; -1
// and `error` set when it cannot.
int attach_tap(const std::string& name, short flags, std::string& error) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open /dev/net/tun for tap=" + name + ": " + strerror(errno);
    return -1;
  }
  ifreq ifr{};
  ifr.ifr_flags = flags;
  memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int e = errno;
    close(fd);
    error = "cannot attach to tap " + name + ": " + strerror(e) +
            (e == EPERM ? " (create it first: ip tuntap add " + name + " mode tap user $USER)" : "");
    return -1;
  }
  return fd;
}

// Asks the TAP for a virtio-net header on every frame and for partially
// checksummed and TSO frames towards us (it takes them from us either way).
bool enable_offloads(int fd) {
  int header = sizeof(VirtioNetHdr);
  unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  return ioctl(fd, TUNSETVNETHDRSZ, &header) == 0 && ioctl(fd, TUNSETOFFLOAD, offloads) == 0;
}

std::unique_ptr<FramePort> open_tap(EventLoop& loop, const VifConfig& vif, std::string& error) {
  if (vif.name.size() >= IFNAMSIZ) {
    error = "tap name " + vif.name + " is longer than " + std::to_string(IFNAMSIZ - 1) + " characters";
    return nullptr;
  }
  // With offloads where the kernel allows them, bare frames where it does not.
  int fd = attach_tap(vif.name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, error);
  if (fd >= 0) {
    if (enable_offloads(fd)) return FramePort::adopt(loop, fd, "tap " + vif.name, Framing::kVirtioNetHdr);
    close(fd);
  }
  fd = attach_tap(vif.name, IFF_TAP | IFF_NO_PI, error);
  if (fd < 0) return nullptr;
  error.clear();
  return FramePort::adopt(loop, fd, "tap " + vif.name);
}

std::unique_ptr<FramePort> open_user(EventLoop& loop, const VifConfig& vif, std::string& error) {
  if (vif.backend != UserBackend::kPasst) return open_slirp(loop, vif, error);
  std::string passt = find_passt();
  if (passt.empty()) {
    error = "backend=passt: passt is not installed (apt-get install passt)";
    return nullptr;
  }
  return open_passt(loop, vif, passt, error);
}

}  // namespace

std::string helper_path(const char* name) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return name;
  std::string dir(self, static_cast<size_t>(n));
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

std::unique_ptr<FramePort> open_uplink(EventLoop& loop, const VifConfig& vif, std::string& error) {
  switch (vif.mode) {
    case VifMode::kUser: return open_user(loop, vif, error);
    case VifMode::kTap: return open_tap(loop, vif, error);
    case VifMode::kSwitch: return join_switch(loop, vif.name, error);
  }
  return nullptr;
}

}  // namespace atl::hv
