// Domain configs (hypervisor/config/domain_spec.h): every key with good and
// bad values, every error's text with its file, line and key, command-line
// overrides, the resolved spec read back, and a real file on disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "domain_spec.h"

using namespace atl::hv;

namespace {

// A config in /cfg, run from /cwd; the files named exist when listed here.
cfg::Parsed<DomainSpec> read(const std::string& text, std::vector<std::string> overrides = {}) {
  static const std::set<std::string> files = {"/cfg/hello", "/cfg/disk.img", "/cfg/b.img", "/cwd/c.img",
                                              "/abs/d,1.img", "/cwd/other"};
  SpecSources s;
  s.text = text;
  s.name = "vm.cfg";
  s.dir = "/cfg";
  s.cwd = "/cwd";
  s.overrides = std::move(overrides);
  s.check_file = [](const std::string& path) -> std::string {
    return files.count(path) ? "" : "No such file or directory";
  };
  return read_domain_spec(s);
}

DomainSpec good(const std::string& text, std::vector<std::string> overrides = {}) {
  auto p = read(text, std::move(overrides));
  EXPECT_TRUE(p.ok()) << text << "\n  " << (p.ok() ? "" : p.error().to_string());
  return p.ok() ? p.value() : DomainSpec{};
}

std::string error(const std::string& text, std::vector<std::string> overrides = {}) {
  auto p = read(text, std::move(overrides));
  return p.ok() ? "(no error)" : p.error().to_string();
}

const std::string K = "kernel = 'hello'\n";

}  // namespace

TEST(DomainSpec, DefaultsAreAtollRunsDefaults) {
  DomainSpec s = good(K);
  EXPECT_EQ(s.name, "hello");
  EXPECT_EQ(s.kernel, "/cfg/hello");
  EXPECT_EQ(s.memory, 16ULL << 20);
  EXPECT_EQ(s.maxmem, s.memory);
  EXPECT_EQ(s.on_poweroff, Action::kDestroy);
  EXPECT_EQ(s.on_reboot, Action::kRestart);
  EXPECT_EQ(s.on_crash, Action::kDestroy);
  EXPECT_FALSE(s.vifs);
  EXPECT_TRUE(s.disks.empty());
  EXPECT_EQ(s.max_restarts, kDefaultMaxRestarts);
  EXPECT_EQ(s.busy_poll_us, kDefaultBusyPollUs);
  EXPECT_EQ(s.cpu_cap, 0u);
  EXPECT_EQ(s.console_log, "");
  EXPECT_EQ(s.domain_config().cmdline, "hello");
  EXPECT_EQ(s.domain_config().memory, 16ULL << 20);
}

TEST(DomainSpec, EveryKey) {
  DomainSpec s = good(
      "name = 'web-1'\ntype = 'pvh'\nmemory = 64\nmaxmem = 128\nvcpus = 1\nkernel = '/cfg/hello'\n"
      "cmdline = '--port 80 \"a b\"'\non_poweroff = 'restart'\non_reboot = 'destroy'\non_crash = 'preserve'\n"
      "vif = [ 'mac=00:16:3e:00:00:01,bridge=lan,ip=10.0.0.2/24,gw=10.0.0.1,rate=10Mb/s', 'user,hostfwd=tcp::8080-:80' ]\n"
      "publish = [ '8081:81' ]\n"
      "disk = [ 'disk.img,raw,xvdb,ro', 'format=raw, vdev=xvda, access=rw, direct, queues=2, target=b.img' ]\n"
      "max_restarts = 3\nbusy_poll = 0\nconsole_log = 'log/web.log'\ncpu_cap = 25\n");
  EXPECT_EQ(s.cpu_cap, 25u);
  EXPECT_EQ(s.domain_config().cpu_cap, 25u);
  EXPECT_EQ(s.name, "web-1");
  EXPECT_EQ(s.type, "pvh");
  EXPECT_EQ(s.memory, 64ULL << 20);
  EXPECT_EQ(s.maxmem, 128ULL << 20);
  EXPECT_EQ(s.domain_config().cmdline, "web-1 --port 80 \"a b\"");
  EXPECT_EQ(s.on_poweroff, Action::kRestart);
  EXPECT_EQ(s.on_reboot, Action::kDestroy);
  EXPECT_EQ(s.on_crash, Action::kPreserve);
  ASSERT_TRUE(s.vifs);
  ASSERT_EQ(s.vifs->size(), 2u);
  const VifConfig& lan = (*s.vifs)[0].config;
  EXPECT_EQ((*s.vifs)[0].text, "switch=lan,mac=00:16:3e:00:00:01,ip=10.0.0.2/24,gw=10.0.0.1,rate=10Mb/s");
  EXPECT_EQ(lan.mode, VifMode::kSwitch);
  EXPECT_EQ(lan.name, "lan");
  EXPECT_TRUE(lan.mac_given);
  EXPECT_EQ(lan.ip, "10.0.0.2/24");
  EXPECT_EQ(lan.gateway, "10.0.0.1");
  EXPECT_GT(lan.rate_bytes, 0u);
  EXPECT_EQ((*s.vifs)[1].config.mode, VifMode::kUser);
  EXPECT_EQ((*s.vifs)[1].config.hostfwd.size(), 1u);
  ASSERT_EQ(s.published.size(), 1u);
  EXPECT_EQ(s.published[0].host_port, 8081);
  ASSERT_EQ(s.disks.size(), 2u);
  EXPECT_EQ(s.disks[0].config.path, "/cfg/disk.img");
  EXPECT_TRUE(s.disks[0].config.read_only);
  EXPECT_EQ(s.disks[0].vdev, 1u);
  EXPECT_EQ(s.disks[1].config.path, "/cfg/b.img");
  EXPECT_FALSE(s.disks[1].config.read_only);
  EXPECT_TRUE(s.disks[1].config.direct);
  EXPECT_EQ(s.disks[1].config.queues, 2u);
  EXPECT_EQ(s.disks[1].vdev, 0u);
  EXPECT_EQ(s.max_restarts, 3u);
  EXPECT_EQ(s.busy_poll_us, 0u);
  EXPECT_EQ(s.console_log, "/cfg/log/web.log");
}

TEST(DomainSpec, ArgumentsThreeWays) {
  EXPECT_EQ(good(K + "extra = '-v'").domain_config().cmdline, "hello -v");
  EXPECT_EQ(good(K + "args = [ 'a b', 'c\"d', '' ]").domain_config().cmdline, "hello \"a b\" \"c\\\"d\" \"\"");
  EXPECT_EQ(good(K + "name = 'x'\nargs = []").domain_config().cmdline, "x");
  EXPECT_EQ(error(K + "cmdline = 'a'\nextra = 'b'"),
            "vm.cfg:3: extra: cmdline is given too; give the guest's arguments one way");
  EXPECT_EQ(error(K + "args = [ 'a' ]\ncmdline = 'b'"),
            "vm.cfg:3: cmdline: args is given too; give the guest's arguments one way");
  EXPECT_EQ(error(K + "cmdline = 'a'", {"args=['b']"}),
            "command line: args: cmdline is given too; give the guest's arguments one way");
  EXPECT_EQ(error(K + "cmdline = '" + std::string(1020, 'x') + "'"),
            "vm.cfg:2: cmdline: the guest's command line (its name and arguments) would be 1026 bytes, more than Xen's 1023");
}

TEST(DomainSpec, DisksInXlsForms) {
  auto disk = [](const std::string& spec) { return good(K + "disk = [ '" + spec + "' ]").disks.at(0); };
  EXPECT_EQ(disk("disk.img").vdev, 0u);
  EXPECT_EQ(disk("disk.img,,xvdc").vdev, 2u);
  EXPECT_TRUE(disk("disk.img,,,r").config.read_only);
  EXPECT_FALSE(disk("disk.img,raw,xvda,w").config.read_only);
  EXPECT_TRUE(disk("file:disk.img,xvdb,ro").config.read_only);
  EXPECT_EQ(disk("raw:disk.img,xvdb,ro").vdev, 1u);
  EXPECT_EQ(disk("vdev=xvdp, target=/abs/d,1.img").config.path, "/abs/d,1.img");
  EXPECT_EQ(disk(",,xvdb,target=disk.img").vdev, 1u);
  EXPECT_EQ(disk("disk.img,queues=16").config.queues, 16u);
  // Disks without a vdev take the free ones in order.
  DomainSpec s = good(K + "disk = [ 'disk.img', 'b.img,,xvda', '/cwd/c.img' ]");
  EXPECT_EQ(s.disks[0].vdev, 1u);
  EXPECT_EQ(s.disks[1].vdev, 0u);
  EXPECT_EQ(s.disks[2].vdev, 2u);
}

TEST(DomainSpec, EveryKeysErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"memory = 'lots'", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 'lots'"},
      {"memory = 0", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 0"},
      {"memory = 3841", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 3841"},
      {"memory = 0x10", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 0x10"},
      {"memory = 010", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 010 (xl would read a leading 0 as octal)"},
      {"max_restarts = '00'", "vm.cfg:2: max_restarts: takes a whole number from 0 to 1000000, not '00' (xl would read a leading 0 as octal)"},
      {"memory = 16M", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 16M"},
      {"memory = [ 16 ]", "vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not a list"},
      {"maxmem = 'x'", "vm.cfg:2: maxmem: takes a whole number of MiB from 1 to 3840, not 'x'"},
      {"memory = 32\nmaxmem = 16", "vm.cfg:3: maxmem: 16 MiB is less than memory (32 MiB)"},
      {"vcpus = 2", "vm.cfg:2: vcpus: an atoll domain has exactly 1 vCPU: takes 1, not 2"},
      {"vcpus = 'many'", "vm.cfg:2: vcpus: an atoll domain has exactly 1 vCPU: takes 1, not 'many'"},
      {"name = '42'", "vm.cfg:2: name: takes 1 to 64 letters, digits, '-', '_' or '.', not all digits (that reads as a domain id), not '42'"},
      {"name = 'a b'", "vm.cfg:2: name: takes 1 to 64 letters, digits, '-', '_' or '.', not all digits (that reads as a domain id), not 'a b'"},
      {"name = ''", "vm.cfg:2: name: takes 1 to 64 letters, digits, '-', '_' or '.', not all digits (that reads as a domain id), not ''"},
      {"name = [ 'a' ]", "vm.cfg:2: name: takes one 'string', not a list"},
      {"type = 'hvm'", "vm.cfg:2: type: takes pv or pvh (atoll appliances are PV guests), not 'hvm'"},
      {"cmdline = [ 'a' ]", "vm.cfg:2: cmdline: takes one 'string', not a list"},
      {"args = 'a'", "vm.cfg:2: args: takes a [ list ] of strings, not 'a'"},
      {"args = [ [ 'a' ] ]", "vm.cfg:2: args: takes a list of strings, not a list of lists"},
      {"on_poweroff = 'rename-restart'", "vm.cfg:2: on_poweroff: takes destroy, restart or preserve, not 'rename-restart'"},
      {"on_reboot = 1", "vm.cfg:2: on_reboot: takes destroy, restart or preserve, not 1"},
      {"on_crash = 'coredump-destroy'", "vm.cfg:2: on_crash: takes destroy, restart or preserve, not 'coredump-destroy'"},
      {"max_restarts = 1000001", "vm.cfg:2: max_restarts: takes a whole number from 0 to 1000000, not 1000001"},
      {"cpu_cap = 101", "vm.cfg:2: cpu_cap: takes a whole number (percent of one CPU; 0: no cap) from 0 to 100, not 101"},
      {"cpu_cap = '50%'", "vm.cfg:2: cpu_cap: takes a whole number (percent of one CPU; 0: no cap) from 0 to 100, not '50%'"},
      {"busy_poll = 10001", "vm.cfg:2: busy_poll: takes a whole number of microseconds from 0 to 10000, not 10001"},
      {"console_log = ''", "vm.cfg:2: console_log: takes a file's path, not ''"},
      {"publish = [ '99999:80' ]", "vm.cfg:2: publish: cannot read '99999:80' (try '8080:80' or '127.0.0.1:5353:53/udp'; ports are 1 to 65535)"},
      {"publish = [ '80:80' ]\nvif = [ 'switch=lan' ]", "vm.cfg:2: publish: needs a user vif (vif = [ 'user' ])"},
      {"builder = 'generic'", "vm.cfg:2: builder: unknown key (atoll takes name, type, memory, maxmem, vcpus, kernel, cmdline, extra, args, on_poweroff, on_reboot, on_crash, vif, disk, publish, max_restarts, busy_poll, console_log, cpu_cap; docs/config.md)"},
      {"memory = 16\n\nmemory = 32", "vm.cfg:4: memory: set twice (first on line 2; += adds to a list)"},
  };
  for (const auto& [text, message] : cases) EXPECT_EQ(error(K + text), message) << text;
}

TEST(DomainSpec, KernelErrors) {
  EXPECT_EQ(error("memory = 16"), "vm.cfg: kernel: is required: the path of the appliance image to run");
  EXPECT_EQ(error("kernel = 'nothere'"), "vm.cfg:1: kernel: cannot use /cfg/nothere: No such file or directory");
  EXPECT_EQ(error("kernel = ''"), "vm.cfg:1: kernel: takes the appliance image's path, not ''");
  EXPECT_EQ(error("kernel = [ 'hello' ]"), "vm.cfg:1: kernel: takes the appliance image's path, not a list");
  EXPECT_EQ(error("kernel = '/abs/d,1.img'"),
            "vm.cfg:1: kernel: the image's file name 'd,1.img' is no domain name (1 to 64 letters, digits, '-', '_' or "
            "'.', not all digits (that reads as a domain id)): give a name");
  EXPECT_EQ(good("kernel = '/abs/d,1.img'\nname = 'd1'").kernel, "/abs/d,1.img");
}

TEST(DomainSpec, VifErrorsNameTheItemsLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"'user,model=e1000'", "unknown vif item `model=e1000` (a vif is user, tap=NAME, switch=NAME or bridge=NAME, with mac=, ip=, gw=, rate=, hostfwd=, backend=)"},
      {"'user,switch=lan'", "`switch=lan` after `user`: a vif is one of user, tap=NAME or switch=NAME"},
      {"'tap'", "unknown vif item `tap` (a vif is user, tap=NAME, switch=NAME or bridge=NAME, with mac=, ip=, gw=, rate=, hostfwd=, backend=)"},
      {"'mac=ff:ff:ff:ff:ff:ff'", "cannot read mac=ff:ff:ff:ff:ff:ff (a unicast xx:xx:xx:xx:xx:xx)"},
      {"'user,rate=fast'", "cannot read rate=fast (try 10Mb/s or 1MB/s@20ms)"},
      {"'tap=t0,ip=10.0.0.2/33'", "cannot read ip=10.0.0.2/33 (try 10.0.0.2/24; the prefix is 1 to 32)"},
      {"'switch=lan,hostfwd=tcp::80-:80'", "hostfwd= needs user networking"},
      {"'user,hostfwd=tcp::70000-:80'", "cannot read hostfwd=tcp::70000-:80 (try tcp:127.0.0.1:8080-:80; ports are 1 to 65535)"},
      {"'user,backend=qemu'", "cannot read backend=qemu (passt or slirp)"},
  };
  for (const auto& [item, message] : cases) {
    std::string text = K + "vif = [\n  'user',\n  " + item + "\n]";
    EXPECT_EQ(error(text), "vm.cfg:4: vif: " + item + ": " + message) << item;
  }
  EXPECT_EQ(error(K + "vif = 'user'"), "vm.cfg:2: vif: takes a [ list ] of strings, not 'user'");
  DomainSpec s = good(K + "vif = [ '', 'mac=00:16:3e:00:00:02' ]");
  EXPECT_EQ((*s.vifs)[0].text, "user");
  EXPECT_EQ((*s.vifs)[1].text, "user,mac=00:16:3e:00:00:02");
  EXPECT_TRUE(good(K + "vif = []").vifs->empty());
}

TEST(DomainSpec, DiskErrorsNameTheItemsLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"'disk.img,qcow2'", "format=qcow2: atoll serves raw images only"},
      {"'disk.img,,hda'", "vdev=hda: atoll's disks are xvda to xvdp"},
      {"'disk.img,,xvdq'", "vdev=xvdq: atoll's disks are xvda to xvdp"},
      {"'disk.img,,xvda,rx'", "access=rx: ro (or r) or rw (or w)"},
      {"'disk.img,,xvda,ro,extra'", "`extra` is one positional parameter too many (target, format, vdev, access)"},
      {"'disk.img,vdev=xvda,vdev=xvdb'", "vdev is given twice"},
      {"'disk.img,cdrom'", "xl's `cdrom` is not supported (atoll's flags are direct and queues=N)"},
      {"'disk.img,devtype=cdrom'", "devtype=cdrom is not supported (atoll's disks are plain vbds)"},
      {"'disk.img,backendtype=phy'", "unknown disk parameter `backendtype=` (atoll takes target=, format=, vdev=, access=, queues=)"},
      {"'disk.img,queues=17'", "cannot read queues=17 (queues=N with N from 1 to 16)"},
      {"'phy:/dev/sda,xvda,w'", "`phy:` disks are not supported (atoll serves raw image files: file:PATH)"},
      {"',,xvda'", "no target (the disk image's path): try 'target=disk.img'"},
      {"'missing.img'", "cannot use /cfg/missing.img: No such file or directory"},
  };
  for (const auto& [item, message] : cases) {
    std::string text = K + "disk = [\n  'b.img',\n  " + item + "\n]";
    std::string expected = "vm.cfg:4: disk: " + (message.rfind("cannot use", 0) == 0 ? "" : item + ": ") + message;
    EXPECT_EQ(error(text), expected) << item;
  }
  EXPECT_EQ(error(K + "disk = [ 'disk.img,,xvdb',\n 'b.img,,xvdb' ]"), "vm.cfg:3: disk: two disks are xvdb");
  std::string seventeen = K + "disk = [";
  for (int i = 0; i < 17; ++i) seventeen += " 'disk.img',";
  EXPECT_EQ(error(seventeen + " ]"), "vm.cfg:2: disk: takes at most 16 disks (xvda to xvdp)");
}

TEST(DomainSpec, OverridesGoOnTop) {
  DomainSpec s = good(K + "memory = 32\nvif = [ 'user' ]\n", {"memory=64", "name=web", "vif+=['switch=lan']",
                                                              "disk=['c.img']", "kernel=other"});
  EXPECT_EQ(s.memory, 64ULL << 20);
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.vifs->size(), 2u);
  // Paths on the command line are from the current directory.
  EXPECT_EQ(s.disks.at(0).config.path, "/cwd/c.img");
  EXPECT_EQ(s.kernel, "/cwd/other");
  EXPECT_EQ(error(K, {"memory=lots"}), "command line: memory: takes a whole number of MiB from 1 to 3840, not 'lots'");
  EXPECT_EQ(error(K, {"vcpus=4"}), "command line: vcpus: an atoll domain has exactly 1 vCPU: takes 1, not 4");
  EXPECT_EQ(error(K, {"colour=blue"}).substr(0, 36), "command line: colour: unknown key (a");
  EXPECT_EQ(error(K, {"memory=8", "memory=9"}), "command line: memory: given twice on the command line");
  EXPECT_EQ(error(K, {"disk=['nothere.img']"}), "command line: disk: cannot use /cwd/nothere.img: No such file or directory");
  EXPECT_EQ(error(K + "vif = [ 'user' ]", {"vif+=['bad']"}).substr(0, 40), "command line: vif: 'bad': unknown vif it");
  EXPECT_EQ(error(K + "memory = 32", {"maxmem=16"}), "command line: maxmem: 16 MiB is less than memory (32 MiB)");
  EXPECT_EQ(error(K, {"memory"}), "command line: `memory` is not KEY=VALUE");
}

TEST(DomainSpec, ResolvedConfigReadsBackTheSame) {
  for (const std::string& text :
       {K, K + "name='w'\ntype='pv'\nmemory=8\nmaxmem=9\ncmdline='a \"b c\" \\'d\\''\non_crash='restart'\n"
               "vif=['bridge=lan,rate=1MB/s@20ms','user,hostfwd=udp:127.0.0.1:53-:53']\npublish=['8080:80']\n"
               "disk=['b.img,,xvdc,ro,direct', 'target=/abs/d,1.img']\nmax_restarts=0\nbusy_poll=7\nconsole_log='/l'\ncpu_cap=5\n",
        K + "vif = []"}) {
    DomainSpec first = good(text);
    std::string resolved = first.to_cfg();
    DomainSpec again = good(resolved);
    EXPECT_EQ(again.to_cfg(), resolved);
    EXPECT_EQ(again.domain_config().cmdline, first.domain_config().cmdline);
  }
  EXPECT_EQ(good(K).to_cfg(),
            "name = 'hello'\nmemory = 16\nmaxmem = 16\nvcpus = 1\nkernel = '/cfg/hello'\n"
            "on_poweroff = 'destroy'\non_reboot = 'restart'\non_crash = 'destroy'\n"
            "# vif not given: one user vif if the image uses sockets or publish is given\n"
            "disk = []\nmax_restarts = 10\nbusy_poll = 100\ncpu_cap = 0\n");
}

TEST(DomainSpec, LoadsARealFile) {
  char dir_template[] = "/tmp/atoll-cfg-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir_template));
  std::string dir = dir_template;
  std::ofstream(dir + "/app") << "not an image, but a file";
  std::ofstream(dir + "/vm.cfg") << "kernel = 'app'\nmemory = 'lots'\n";
  auto bad = load_domain_spec(dir + "/vm.cfg", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), dir + "/vm.cfg:2: memory: takes a whole number of MiB from 1 to 3840, not 'lots'");
  auto good_one = load_domain_spec(dir + "/vm.cfg", {"memory=8"});
  ASSERT_TRUE(good_one.ok()) << good_one.error().to_string();
  EXPECT_EQ(good_one.value().kernel, dir + "/app");
  auto missing = load_domain_spec(dir + "/none.cfg", {});
  EXPECT_EQ(missing.error().to_string(), dir + "/none.cfg: cannot read it: No such file or directory");
  std::ofstream(dir + "/dir.cfg") << "kernel = '" << dir << "'\n";
  EXPECT_EQ(load_domain_spec(dir + "/dir.cfg", {}).error().to_string(),
            dir + "/dir.cfg:1: kernel: cannot use " + dir + ": it is a directory");
  for (const char* f : {"/app", "/vm.cfg", "/dir.cfg"}) unlink((dir + f).c_str());
  rmdir(dir.c_str());
}
