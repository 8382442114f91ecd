// An image's manifest: what the appliance needs and offers (memory, vifs, disks,
// published ports, command line) and, once sealed, what it was built for and
// where its parts are. A text file of `key value` lines (docs/images.md):
//
//   name httpd-demo
//   memory 16M
//   cmdline --port 80
//   vifs 1
//   publish 8080:80
//   disk log rw required
//
// plus, written by `atoll seal` only: atoll-version, xen-abi, and one
// `elf`/`archive` line per part with its offset, size and SHA-256.
//
// Everything in it is hostile input when an image is opened: each line is
// checked, every number read through parse_decimal, and each refusal names
// the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_crypto.h"

namespace atl::hv::image {

// The Xen interface version the hosted hypervisor speaks (the guest is built
// against the same headers). An image naming another is refused.
inline constexpr uint32_t kXenAbi = __XEN_INTERFACE_VERSION__;
inline constexpr size_t kMaxManifestSize = 64 * 1024;
inline constexpr size_t kMaxManifestDisks = 16;
inline constexpr size_t kMaxManifestPorts = 64;
inline constexpr unsigned kMaxManifestVifs = 8;

enum class DiskNeed { kRequired, kOptional, kEphemeral };

struct ManifestDisk {
  std::string name;  // what the appliance calls it ("log"), for messages
  bool read_only = false;
  DiskNeed need = DiskNeed::kRequired;
  uint64_t ephemeral_size = 0;  // kEphemeral: bytes of the scratch file made when none is given
  // kRequired only: not needed when the guest's arguments hold these words in
  // a row (kvstore's `required unless --aof off`).
  std::vector<std::string> unless;
};

struct ManifestPort {
  uint16_t host_port = 0;
  uint16_t guest_port = 0;
  bool udp = false;
};

struct ManifestPart {
  uint64_t offset = 0;
  uint64_t size = 0;
  Sha256 sha256{};
};

struct Manifest {
  std::string name;
  uint64_t memory = 0;                  // 0: not stated (atoll run's default)
  std::string cmdline;                  // guest arguments after argv[0], as typed
  std::optional<unsigned> vifs;         // not stated: atoll run decides
  std::vector<ManifestPort> publish;
  std::vector<ManifestDisk> disks;      // in vbd order: the first is xvda
  // Set by atoll seal:
  std::string atoll_version;
  std::optional<uint32_t> xen_abi;
  std::optional<ManifestPart> elf;
  std::optional<ManifestPart> archive;  // absent: no archive
};

// Which keys a text may hold: what a user writes for `atoll seal --manifest`,
// or what a sealed image carries (which must also have the sealed keys).
enum class ManifestSource { kUser, kSealed };

struct ManifestError {
  size_t line = 0;  // 1-based; 0 for the manifest as a whole
  std::string message;
  std::string text() const;
};

struct ManifestParse {
  std::optional<Manifest> manifest;
  ManifestError error;
};

ManifestParse parse_manifest(std::string_view text, ManifestSource source);
// The canonical text: keys in a fixed order, one form per value, so that the
// same manifest always seals to the same bytes.
std::string format_manifest(const Manifest& m);

// Lines as users write them, shared by the parser and `atoll seal`'s flags.
std::optional<ManifestPort> parse_manifest_port(std::string_view text);
std::string format_manifest_port(const ManifestPort& p);
// "NAME [ro|rw] [required|optional|ephemeral=SIZE]"; `error` says what is wrong.
struct DiskParse {
  std::optional<ManifestDisk> disk;
  std::string error;
};
DiskParse parse_manifest_disk(std::string_view text);
std::string format_manifest_disk(const ManifestDisk& d);
// "0x00040e00"
std::string format_xen_abi(uint32_t abi);

}  // namespace atl::hv::image
