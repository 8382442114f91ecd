// `atoll seal --archive DIR`: a directory tree as a deterministic ustar archive
// (entries sorted by name, owner 0, modes 0755/0644, mtime 0 unless given), the
// same rules as scripts/seal-archive.py, so one tree always gives one archive.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace atl::hv::image {

struct PackResult {
  std::optional<std::vector<uint8_t>> archive;
  std::string error;
  std::vector<std::string> skipped;  // sockets, fifos, devices: left out
};

PackResult pack_directory(const std::string& dir, uint64_t mtime);

// Reads `bytes` as the guest will when it mounts it (libc-glue/fs's own
// ArchiveIndex): empty if it would mount, else the reader's reason.
std::string check_archive(std::span<const uint8_t> bytes);

}  // namespace atl::hv::image
