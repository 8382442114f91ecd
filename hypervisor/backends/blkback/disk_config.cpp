#include "disk_config.h"

#include "blkback_xenbus.h"
#include "decimal.h"

namespace atl::hv {

bool apply_disk_flag(const std::string& flag, DiskConfig& out) {
  if (flag == "ro") out.read_only = true;
  else if (flag == "rw") {}  // the default, as --disk has always taken it
  else if (flag == "direct") out.direct = true;
  else if (flag.rfind("queues=", 0) == 0) {
    auto n = parse_decimal(flag.substr(7), 1, kMaxQueuesLimit);
    if (!n) return false;
    out.queues = static_cast<unsigned>(*n);
  } else {
    return false;
  }
  return true;
}

bool parse_disk_option(const std::string& text, DiskConfig& out) {
  size_t comma = text.find(',');
  out = DiskConfig{};
  out.path = text.substr(0, comma);
  if (out.path.empty()) return false;
  while (comma != std::string::npos) {
    size_t next = text.find(',', comma + 1);
    std::string flag = text.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
    if (!apply_disk_flag(flag, out)) return false;
    comma = next;
  }
  return true;
}

}  // namespace atl::hv
