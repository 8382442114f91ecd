// The --net option: user, tap=NAME and switch=NAME vifs with their hostfwd=,
// mac=, rate=, ip= and gw= items, the forms refused, and the MAC helpers.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "vif_config.h"

#include "atoll/mac_address.h"

using namespace atl::hv;

namespace {

uint32_t addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return htonl(static_cast<uint32_t>(a) << 24 | static_cast<uint32_t>(b) << 16 | static_cast<uint32_t>(c) << 8 | d);
}

VifConfig parse_ok(const std::string& text) {
  VifConfig vif;
  std::string error;
  EXPECT_TRUE(parse_vif_option(text, vif, error)) << text << ": " << error;
  EXPECT_EQ(error, "") << text;
  return vif;
}

// The error message, or "" when `text` was (wrongly) accepted.
std::string parse_error(const std::string& text) {
  VifConfig vif;
  std::string error;
  EXPECT_FALSE(parse_vif_option(text, vif, error)) << text << " was accepted";
  EXPECT_NE(error, "") << text;
  return error;
}

}  // namespace

TEST(VifConfig, User) {
  VifConfig vif = parse_ok("user");
  EXPECT_EQ(vif.mode, VifMode::kUser);
  EXPECT_EQ(vif.name, "");
  EXPECT_TRUE(vif.hostfwd.empty());
  EXPECT_FALSE(vif.mac_given);
  EXPECT_EQ(vif.rate_bytes, 0u);
  EXPECT_EQ(vif.rate_interval_ns, 50'000'000u);
  EXPECT_EQ(vif.ip, "");
  EXPECT_EQ(vif.gateway, "");
}

TEST(VifConfig, UserWithHostForwards) {
  VifConfig vif = parse_ok("user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-:53");
  EXPECT_EQ(vif.mode, VifMode::kUser);
  ASSERT_EQ(vif.hostfwd.size(), 2u);
  const HostFwd& tcp = vif.hostfwd[0];
  EXPECT_FALSE(tcp.udp);
  EXPECT_EQ(tcp.host_addr, addr(127, 0, 0, 1));
  EXPECT_EQ(tcp.host_port, 8080);
  EXPECT_EQ(tcp.guest_addr, 0u);
  EXPECT_EQ(tcp.guest_port, 80);
  const HostFwd& udp = vif.hostfwd[1];
  EXPECT_TRUE(udp.udp);
  EXPECT_EQ(udp.host_addr, 0u);
  EXPECT_EQ(udp.host_port, 5353);
  EXPECT_EQ(udp.guest_addr, 0u);
  EXPECT_EQ(udp.guest_port, 53);
}

TEST(VifConfig, Tap) {
  VifConfig vif = parse_ok("tap=tap0");
  EXPECT_EQ(vif.mode, VifMode::kTap);
  EXPECT_EQ(vif.name, "tap0");
}

TEST(VifConfig, SwitchWithEveryItem) {
  VifConfig vif = parse_ok("switch=lan0,mac=00:16:3e:01:02:03,rate=10Mb/s@20ms,ip=10.0.0.2/24,gw=10.0.0.1");
  EXPECT_EQ(vif.mode, VifMode::kSwitch);
  EXPECT_EQ(vif.name, "lan0");
  EXPECT_TRUE(vif.mac_given);
  EXPECT_EQ(vif.mac, (std::array<uint8_t, 6>{0x00, 0x16, 0x3e, 0x01, 0x02, 0x03}));
  EXPECT_EQ(vif.rate_interval_ns, 20'000'000u);
  EXPECT_EQ(vif.rate_bytes, 25'000u);  // 10e6 / 8 bytes a second, for 0.02 s
  EXPECT_EQ(vif.ip, "10.0.0.2/24");
  EXPECT_EQ(vif.gateway, "10.0.0.1");
  EXPECT_TRUE(vif.hostfwd.empty());
}

TEST(VifConfig, RateUnitsAndIntervals) {
  struct Case {
    const char* rate;
    uint64_t bytes, interval_ns;
  };
  const Case cases[] = {
      {"1MB/s", 50'000, 50'000'000},        // the default interval is 50 ms
      {"500Kb/s@1s", 62'500, 1'000'000'000},
      {"8b/s@1s", 1, 1'000'000'000},
      {"100B/s@1s", 100, 1'000'000'000},
      {"2KB/s@500ms", 1'000, 500'000'000},
      {"1Gb/s@100us", 12'500, 100'000},
      {"1GB/s@500us", 500'000, 500'000},
      {"1.5MB/s@2ms", 3'000, 2'000'000},
  };
  for (const Case& c : cases) {
    VifConfig vif = parse_ok(std::string("user,rate=") + c.rate);
    EXPECT_EQ(vif.rate_bytes, c.bytes) << c.rate;
    EXPECT_EQ(vif.rate_interval_ns, c.interval_ns) << c.rate;
  }
}

TEST(VifConfig, ParsingStartsAfresh) {
  VifConfig vif;
  std::string error;
  ASSERT_TRUE(parse_vif_option("switch=lan0,mac=00:16:3e:01:02:03,rate=1MB/s,ip=10.0.0.2/24", vif, error));
  ASSERT_TRUE(parse_vif_option("user", vif, error));
  EXPECT_EQ(vif.mode, VifMode::kUser);
  EXPECT_EQ(vif.name, "");
  EXPECT_FALSE(vif.mac_given);
  EXPECT_EQ(vif.rate_bytes, 0u);
  EXPECT_EQ(vif.ip, "");
}

TEST(VifConfig, UnknownOrMisplacedModeIsRefused) {
  for (const char* text : {"", "bogus", "User", "tap", "tap=", "switch=", "slirp", "user,tap=tap0", "tap=tap0,user",
                           "user,switch=lan0", "user,bogus=1", "user,", "user,,mac=00:16:3e:01:02:03"}) {
    std::string error = parse_error(text);
    EXPECT_NE(error.find("unknown --net item"), std::string::npos) << text << ": " << error;
  }
}

TEST(VifConfig, HostForwardNeedsUserNetworking) {
  for (const char* text : {"tap=tap0,hostfwd=tcp::8080-:80", "switch=lan0,hostfwd=udp::5353-:53"})
    EXPECT_EQ(parse_error(text), "hostfwd= needs user networking") << text;
}

TEST(VifConfig, BadHostForwardsAreRefused) {
  const char* bad[] = {
      "",
      "tcp",
      "tcp:",
      "tcp:127.0.0.1:-:80",         // no host port
      "tcp:127.0.0.1:8080-:",       // no guest port
      "tcp:127.0.0.1:8080",         // no guest side
      "tcp:8080-:80",               // no host address field
      "tcp::8080-80",               // no guest address field
      "tcp::0-:80",                 // port 0
      "tcp::8080-:0",
      "tcp::70000-:80",             // past 65535
      "tcp::65536-:80",
      "tcp::123456-:80",
      "tcp::+80-:80",
      "tcp:: 80-:80",
      "tcp::0x50-:80",
      "sctp::8080-:80",             // not tcp or udp
      "TCP::8080-:80",
      "tcp:256.0.0.1:8080-:80",     // not an IPv4 address
      "tcp:localhost:8080-:80",
      "tcp:::1:8080-:80",
      "tcp::8080-10.0.2:80",
      "tcp::8080-:80-:81",
      "tcp::8080-:80:81",
  };
  for (const char* text : bad) {
    HostFwd fwd;
    EXPECT_FALSE(parse_hostfwd(text, fwd)) << text;
    std::string error = parse_error(std::string("user,hostfwd=") + text);
    EXPECT_EQ(error.rfind("cannot read hostfwd=", 0), 0u) << text << ": " << error;
  }
}

TEST(VifConfig, HostForwardToAGuestAddress) {
  HostFwd fwd;
  ASSERT_TRUE(parse_hostfwd("tcp:0.0.0.0:1-10.0.2.15:65535", fwd));
  EXPECT_EQ(fwd.host_addr, 0u);
  EXPECT_EQ(fwd.host_port, 1);
  EXPECT_EQ(fwd.guest_addr, addr(10, 0, 2, 15));
  EXPECT_EQ(fwd.guest_port, 65535);
}

TEST(VifConfig, BadMacsAreRefused) {
  for (const char* mac : {"01:00:5e:00:00:01",  // multicast
                          "ff:ff:ff:ff:ff:ff",  // broadcast
                          "03:16:3e:01:02:03", "", "00:16:3e:01:02", "00:16:3e:01:02:03:04", "00:16:3e:01:02:0g",
                          "00:16:3e:01:02:100", "00-16-3e-01-02-03", "00:16:3e:01:02:03x"}) {
    std::string error = parse_error(std::string("user,mac=") + mac);
    EXPECT_EQ(error.rfind("cannot read mac=", 0), 0u) << mac << ": " << error;
  }
  // A locally administered unicast address is fine.
  EXPECT_EQ(parse_ok("user,mac=02:00:00:00:00:01").mac[0], 0x02);
}

TEST(VifConfig, BadRatesAreRefused) {
  for (const char* rate : {"10", "10Mbit/s", "10mb/s", "10Mb", "10 Mb/s", "Mb/s", "0Mb/s", "-1MB/s", "10Mb/s@20min",
                           "10Mb/s@20", "10Mb/s@0ms", "10Mb/s@-5ms", "1b/s@1us"}) {
    std::string error = parse_error(std::string("user,rate=") + rate);
    EXPECT_EQ(error.rfind("cannot read rate=", 0), 0u) << rate << ": " << error;
  }
}

TEST(VifConfig, BadStaticAddressesAreRefused) {
  for (const char* ip : {"10.0.0.2", "10.0.0.2/33", "10.0.0.2/0", "10.0.0.2/", "0.0.0.0/24", "/24", "10.0.0/24",
                         "10.0.0.256/24", "host/24"}) {
    std::string error = parse_error(std::string("switch=lan0,ip=") + ip);
    EXPECT_EQ(error.rfind("cannot read ip=", 0), 0u) << ip << ": " << error;
  }
  EXPECT_EQ(parse_ok("switch=lan0,ip=10.0.0.2/32").ip, "10.0.0.2/32");
  EXPECT_EQ(parse_ok("switch=lan0,ip=10.0.0.2/1").ip, "10.0.0.2/1");
  for (const char* gw : {"", "0.0.0.0", "10.0.0", "10.0.0.1/24"}) {
    std::string error = parse_error(std::string("switch=lan0,ip=10.0.0.2/24,gw=") + gw);
    EXPECT_EQ(error.rfind("cannot read gw=", 0), 0u) << gw << ": " << error;
  }
}

TEST(FormatHostFwd, RoundTrips) {
  for (const char* text : {"tcp:127.0.0.1:8080-:80", "udp::5353-:53", "tcp::1-10.0.2.15:65535",
                           "udp:192.168.1.20:65535-10.0.2.15:1"}) {
    HostFwd fwd;
    ASSERT_TRUE(parse_hostfwd(text, fwd)) << text;
    EXPECT_EQ(format_hostfwd(fwd), text);
    HostFwd again;
    ASSERT_TRUE(parse_hostfwd(format_hostfwd(fwd), again)) << text;
    EXPECT_EQ(again.udp, fwd.udp);
    EXPECT_EQ(again.host_addr, fwd.host_addr);
    EXPECT_EQ(again.host_port, fwd.host_port);
    EXPECT_EQ(again.guest_addr, fwd.guest_addr);
    EXPECT_EQ(again.guest_port, fwd.guest_port);
  }
  // 0.0.0.0 means "every address", written as nothing.
  HostFwd any;
  ASSERT_TRUE(parse_hostfwd("tcp:0.0.0.0:22-:22", any));
  EXPECT_EQ(format_hostfwd(any), "tcp::22-:22");
}

TEST(FormatMac, LowerCaseHexWithLeadingZeros) {
  EXPECT_EQ(format_mac({0x00, 0x16, 0x3e, 0x0a, 0xbc, 0xff}), "00:16:3e:0a:bc:ff");
  EXPECT_EQ(format_mac({}), "00:00:00:00:00:00");
  EXPECT_EQ(parse_ok("user,mac=00:16:3E:0A:BC:FE").mac, (std::array<uint8_t, 6>{0x00, 0x16, 0x3e, 0x0a, 0xbc, 0xfe}));
  EXPECT_EQ(format_mac(parse_ok("tap=t,mac=00:16:3e:7f:80:01").mac), "00:16:3e:7f:80:01");
}

TEST(DefaultMac, XenOuiUnicastAndStable) {
  std::set<std::array<uint8_t, 6>> seen;
  for (uint16_t domid : {1, 2, 7, 100, 255}) {
    for (uint32_t devid : {0u, 1u, 2u, 3u}) {
      std::array<uint8_t, 6> mac = default_mac(domid, devid);
      EXPECT_EQ(mac[0], 0x00) << format_mac(mac);
      EXPECT_EQ(mac[1], 0x16) << format_mac(mac);
      EXPECT_EQ(mac[2], 0x3e) << format_mac(mac);
      EXPECT_EQ(mac[0] & 1, 0) << "a group address: " << format_mac(mac);
      EXPECT_LT(mac[3], 0x80) << format_mac(mac);  // the lower half of the OUI's space, as xl picks
      EXPECT_EQ(default_mac(domid, devid), mac) << "not stable";
      EXPECT_TRUE(seen.insert(mac).second) << "dom" << domid << " vif " << devid << " repeats " << format_mac(mac);
      // What netback would be handed must also be accepted as mac=.
      EXPECT_EQ(parse_ok("user,mac=" + format_mac(mac)).mac, mac);
    }
  }
}

TEST(VifConfig, FirstItemMustNameTheWayOut) {
  for (const char* text : {"mac=00:16:3e:01:02:03", "hostfwd=tcp::8080-:80", "ip=10.0.0.2/24", "bogus"}) {
    std::string error = parse_error(text);
    EXPECT_NE(error.find("starts with user"), std::string::npos) << text << ": " << error;
  }
}

TEST(VifConfig, PrefixIsDigitsOnly) {
  for (const char* ip : {"10.0.0.2/24junk", "10.0.0.2/+8", "10.0.0.2/ 8", "10.0.0.2/024", "10.0.0.2/0"})
    EXPECT_EQ(parse_error(std::string("user,ip=") + ip).rfind("cannot read ip=", 0), 0u) << ip;
  EXPECT_EQ(parse_ok("user,ip=10.0.0.2/8").ip, "10.0.0.2/8");
}

TEST(MacAddress, StrictForm) {
  EXPECT_EQ(atl::parse_mac("0:1:2:a:B:ff"), (atl::MacAddress{0, 1, 2, 0xa, 0xb, 0xff}));
  for (const char* bad : {"", "00:16:3e:01:02", "00:16:3e:01:02:03:04", "0x0:16:3e:01:02:03", "-1:16:3e:01:02:03",
                          "000:16:3e:01:02:03", "00:16:3e:01:02:03 ", "00-16-3e-01-02-03", "00:16:3e:01:02:g3"})
    EXPECT_FALSE(atl::parse_mac(bad)) << bad;
  EXPECT_TRUE(atl::is_group_address(*atl::parse_mac("01:00:5e:00:00:01")));
  EXPECT_FALSE(atl::is_group_address(*atl::parse_mac("00:16:3e:00:00:01")));
}
