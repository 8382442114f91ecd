#include "run_args.h"

#include <algorithm>

namespace atl::hv {

std::vector<std::string> split_guest_args(const std::string& text) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    std::string arg;
    bool quoted = false;
    for (; i < text.size() && (quoted || (text[i] != ' ' && text[i] != '\t')); ++i) {
      if (text[i] == '"') { quoted = !quoted; continue; }
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      arg += text[i];
    }
    args.push_back(std::move(arg));
  }
  return args;
}

cfg::Parsed<std::vector<std::string>> run_args(const DomainSpec& spec) {
  auto problem = [](std::string message) { return cfg::Error{{}, "", std::move(message)}; };
  std::vector<std::string> a = {"--name", spec.name, "--memory", std::to_string(spec.memory >> 10) + "K",
                                "--on-poweroff", to_string(spec.on_poweroff), "--on-reboot", to_string(spec.on_reboot),
                                "--on-crash", to_string(spec.on_crash), "--max-restarts",
                                std::to_string(spec.max_restarts), "--busy-poll", std::to_string(spec.busy_poll_us)};
  if (spec.cpu_cap) a.insert(a.end(), {"--cpu-cap", std::to_string(spec.cpu_cap)});
  if (!spec.console_log.empty()) a.insert(a.end(), {"--console-log", spec.console_log});
  if (spec.vifs && spec.vifs->empty()) a.insert(a.end(), {"--net", "none"});
  if (spec.vifs)
    for (const VifSpec& v : *spec.vifs) a.insert(a.end(), {"--net", v.text});
  for (const std::string& p : spec.publish) a.insert(a.end(), {"--publish", p});
  // --disk numbers disks xvda, xvdb, ... in the order given.
  std::vector<const DiskSpec*> disks;
  for (const DiskSpec& d : spec.disks) disks.push_back(&d);
  std::sort(disks.begin(), disks.end(), [](const DiskSpec* x, const DiskSpec* y) { return x->vdev < y->vdev; });
  for (size_t i = 0; i < disks.size(); ++i) {
    const DiskConfig& c = disks[i]->config;
    if (disks[i]->vdev != i)
      return problem("disk " + vdev_name(disks[i]->vdev.value_or(0)) + ": `atoll create` numbers disks from xvda without gaps; " +
                     "give " + vdev_name(static_cast<unsigned>(i)) + " first");
    if (c.path.find(',') != std::string::npos)
      return problem("disk " + c.path + ": `atoll create` cannot yet serve a disk whose path has a comma");
    a.insert(a.end(), {"--disk", c.path + (c.read_only ? ",ro" : "") + (c.direct ? ",direct" : "") +
                                     ",queues=" + std::to_string(c.queues)});
  }
  a.push_back(spec.kernel);
  a.push_back("--");
  for (std::string& arg : split_guest_args(spec.cmdline)) a.push_back(std::move(arg));
  return a;
}

std::string shell_command(const std::vector<std::string>& args) {
  std::string out = "atoll run";
  for (const std::string& arg : args) {
    bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789-_./:,=@%+") == std::string::npos;
    if (plain) { out += " " + arg; continue; }
    out += " '";
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += "'";
  }
  return out;
}

}  // namespace atl::hv
