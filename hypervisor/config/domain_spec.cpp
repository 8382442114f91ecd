#include "domain_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xl_keys.h"

namespace atl::hv {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

using cfg::Error;
using cfg::Origin;

// The later of two origins: the command line comes after every file line.
const Origin& later(const Origin& a, const Origin& b) {
  if (a.line == 0) return a;
  if (b.line == 0) return b;
  return a.line > b.line ? a : b;
}

std::optional<Error> one_way_to_give_arguments(const SpecBuilder& b) {
  const std::string* first = nullptr;
  for (const std::string key : {"cmdline", "extra", "args"}) {
    auto it = b.seen.find(key);
    if (it == b.seen.end()) continue;
    if (!first) { first = &it->first; continue; }
    const Origin& other = b.seen.at(*first);
    const Origin& at = later(it->second, other);
    const std::string& key_at = &at == &it->second ? it->first : *first;
    const std::string& key_other = &at == &it->second ? *first : it->first;
    return Error{at, key_at, key_other + " is given too; give the guest's arguments one way"};
  }
  return std::nullopt;
}

std::optional<Error> check_limits(SpecBuilder& b) {
  DomainSpec& s = b.spec;
  if (b.seen.count("maxmem") && s.maxmem < s.memory)
    return Error{b.seen["maxmem"], "maxmem",
                 std::to_string(s.maxmem >> 20) + " MiB is less than memory (" + std::to_string(s.memory >> 20) + " MiB)"};
  if (!b.seen.count("maxmem")) s.maxmem = s.memory;
  size_t length = guest_cmdline(s.name, s.cmdline).size();
  if (length > kMaxCmdlineBytes) {
    for (const char* key : {"cmdline", "extra", "args", "name"})
      if (b.seen.count(key))
        return Error{b.seen[key], key,
                     "the guest's command line (its name and arguments) would be " + std::to_string(length) +
                         " bytes, more than Xen's " + std::to_string(kMaxCmdlineBytes)};
  }
  if (!s.publish.empty() && s.vifs) {
    bool user = false;
    for (const VifSpec& v : *s.vifs) user = user || v.config.mode == VifMode::kUser;
    if (!user) return Error{b.seen["publish"], "publish", "needs a user vif (vif = [ 'user' ])"};
  }
  return std::nullopt;
}

std::string list_of(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : " ") + cfg::quote_string(items[i]);
  return out + (items.empty() ? "]" : " ]");
}

std::string disk_text(const DiskSpec& d) {
  return "vdev=" + vdev_name(d.vdev.value_or(0)) + ",access=" + (d.config.read_only ? "ro" : "rw") +
         (d.config.direct ? ",direct" : "") + ",queues=" + std::to_string(d.config.queues) + ",target=" + d.config.path;
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string current_directory() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

}  // namespace

std::optional<Error> finish_spec(SpecBuilder& b) {
  if (b.spec.kernel.empty())
    return Error{Origin{b.sources.name, 0}, "kernel", "is required: the path of the appliance image to run"};
  if (b.spec.name.empty()) {
    b.spec.name = b.spec.kernel.substr(b.spec.kernel.rfind('/') + 1);
    if (!is_domain_name(b.spec.name))
      return Error{b.seen["kernel"], "kernel", "the image's file name " + cfg::quote_string(b.spec.name) +
                                                   " is no domain name (" + kDomainNameRule + "): give a name"};
  }
  if (auto e = one_way_to_give_arguments(b)) return e;
  return check_limits(b);
}

DomainConfig DomainSpec::domain_config() const {
  DomainConfig c;
  c.name = name;
  c.memory = memory;
  c.cmdline = guest_cmdline(name, cmdline);
  c.on_poweroff = on_poweroff;
  c.on_reboot = on_reboot;
  c.on_crash = on_crash;
  c.cpu_cap = cpu_cap;
  return c;
}

std::string DomainSpec::to_cfg() const {
  auto q = [](const std::string& s) { return cfg::quote_string(s); };
  std::string out = "name = " + q(name) + "\n";
  if (!type.empty()) out += "type = " + q(type) + "\n";
  out += "memory = " + std::to_string(memory >> 20) + "\nmaxmem = " + std::to_string(maxmem >> 20) + "\nvcpus = 1\n";
  out += "kernel = " + q(kernel) + "\n";
  if (!cmdline.empty()) out += "cmdline = " + q(cmdline) + "\n";
  out += std::string("on_poweroff = ") + q(to_string(on_poweroff)) + "\non_reboot = " + q(to_string(on_reboot)) +
         "\non_crash = " + q(to_string(on_crash)) + "\n";
  if (vifs) {
    std::vector<std::string> texts;
    for (const VifSpec& v : *vifs) texts.push_back(v.text);
    out += "vif = " + list_of(texts) + "\n";
  } else {
    out += "# vif not given: one user vif if the image uses sockets or publish is given\n";
  }
  if (!publish.empty()) out += "publish = " + list_of(publish) + "\n";
  std::vector<std::string> disk_texts;
  for (const DiskSpec& d : disks) disk_texts.push_back(disk_text(d));
  out += "disk = " + list_of(disk_texts) + "\n";
  out += "max_restarts = " + std::to_string(max_restarts) + "\nbusy_poll = " + std::to_string(busy_poll_us) + "\n";
  out += "cpu_cap = " + std::to_string(cpu_cap) + "\n";
  if (!console_log.empty()) out += "console_log = " + q(console_log) + "\n";
  return out;
}

std::string check_regular_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return strerror(errno);
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return "it is not a regular file";
  if (access(path.c_str(), R_OK) != 0) return strerror(errno);
  return "";
}

cfg::Parsed<DomainSpec> read_domain_spec(const SpecSources& sources) {
  auto file = cfg::parse_file(sources.text, sources.name);
  if (!file.ok()) return file.error();
  cfg::SettingTable table;
  for (cfg::Setting& s : file.value())
    if (auto e = table.add(std::move(s), false)) return *e;
  for (const std::string& o : sources.overrides) {
    auto s = cfg::parse_override(o);
    if (!s.ok()) return s.error();
    if (auto e = table.add(std::move(s.value()), true)) return *e;
  }
  SpecBuilder b{sources, {}, {}};
  for (const cfg::Setting& s : table.settings())
    if (auto e = apply_setting(b, s)) return *e;
  if (auto e = finish_spec(b)) return *e;
  return std::move(b.spec);
}

cfg::Parsed<DomainSpec> load_domain_spec(const std::string& path, const std::vector<std::string>& overrides) {
  auto fail = [&](const std::string& why) { return Error{Origin{path, 0}, "", why}; };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot read it: ") + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail("cannot read it: not a regular file");
  }
  std::string text(static_cast<size_t>(std::min<off_t>(st.st_size, kMaxFileBytes + 1)), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return fail(std::string("cannot read it: ") + strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got > kMaxFileBytes) return fail("is larger than 1 MiB; a domain config is a few lines");
  text.resize(got);
  SpecSources sources;
  sources.text = std::move(text);
  sources.name = path;
  sources.cwd = current_directory();
  std::string dir = directory_of(path);
  sources.dir = dir.empty() ? sources.cwd : (dir[0] == '/' ? dir : sources.cwd + "/" + dir);
  sources.overrides = overrides;
  return read_domain_spec(sources);
}

}  // namespace atl::hv
