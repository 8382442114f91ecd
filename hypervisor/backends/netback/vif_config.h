// A vif as `atoll run --net` describes it:
//
//   user[,hostfwd=tcp:127.0.0.1:8080-:80]...   user-mode NAT, no root (default):
//                                              libslirp, or passt with ,backend=passt
//   tap=NAME                                   a host TAP device
//   switch=NAME                                a learning switch shared by domains
//
// each optionally followed by ,mac=00:16:3e:xx:xx:xx, ,rate=10Mb/s[@50ms] (xl's
// vif rate syntax: a transmit limit) and ,ip=A.B.C.D/LEN ,gw=A.B.C.D (static
// addressing handed to the guest through xenstore instead of DHCP).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atl::hv {

enum class VifMode { kUser, kTap, kSwitch };
// Who does user-mode networking: kAuto is libslirp (docs/networking.md says
// why passt is not the default yet).
enum class UserBackend { kAuto, kPasst, kSlirp };

struct HostFwd {
  bool udp = false;
  uint32_t host_addr = 0;  // network byte order; 0 = every address
  uint16_t host_port = 0;
  uint32_t guest_addr = 0;  // 0 = the guest's DHCP address
  uint16_t guest_port = 0;
};

constexpr unsigned kDefaultMaxConnections = 16384;

struct VifConfig {
  VifMode mode = VifMode::kUser;
  std::string name;  // the TAP device or switch
  std::vector<HostFwd> hostfwd;
  UserBackend backend = UserBackend::kAuto;
  std::array<uint8_t, 6> mac{};
  bool mac_given = false;
  uint64_t rate_bytes = 0;  // per interval; 0 = no limit
  uint64_t rate_interval_ns = 50'000'000;
  std::string ip;  // "A.B.C.D/LEN" or empty for DHCP
  std::string gateway;
  // Forwarded TCP connections held open at once (user vifs): each is a host
  // descriptor in the hypervisor, so this is the domain's share of them.
  // Past it a new connection is reset. The domain key max_connections sets it.
  unsigned max_connections = kDefaultMaxConnections;
};

// Parses one --net value; on failure `error` says what is wrong.
bool parse_vif_option(const std::string& text, VifConfig& out, std::string& error);
bool parse_hostfwd(const std::string& text, HostFwd& out);
// `atoll run -p`: [ADDR:]HOSTPORT:GUESTPORT[/udp], ADDR 127.0.0.1 unless given.
bool parse_publish(const std::string& text, HostFwd& out);
// "00:16:3e:.." form of a MAC.
std::string format_mac(const std::array<uint8_t, 6>& mac);
// A MAC in Xen's OUI (00:16:3e), locally unique from the domain, device and process.
std::array<uint8_t, 6> default_mac(uint16_t domid, uint32_t devid);
// "tcp:127.0.0.1:8080-:80" back from a HostFwd (for the slirp helper's argv).
std::string format_hostfwd(const HostFwd& fwd);

}  // namespace atl::hv
