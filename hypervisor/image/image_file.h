// Sealed images and keys as files: mapping an image read-only, opening it as
// sealed or bare ELF, checking its signer against a directory of trusted keys,
// and reading and writing key files.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "image_crypto.h"
#include "sealed_image.h"

namespace atl::hv::image {

// A read-only private mapping of a whole file; verification and loading both
// read through it, so an image is never copied into our heap.
class MappedFile {
 public:
  static std::unique_ptr<MappedFile> try_map(const std::string& path, std::string& error);
  ~MappedFile();
  std::span<const uint8_t> bytes() const { return {m_data, m_size}; }

 private:
  MappedFile(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}
  const uint8_t* m_data;
  size_t m_size;
};

enum class SignaturePolicy { kAnyImage, kRequireTrusted };

// What `atoll run` boots: the ELF, the archive (empty for a bare ELF) and the
// manifest (nullopt for a bare ELF).
struct BootableImage {
  std::string path;
  std::unique_ptr<MappedFile> file;
  std::span<const uint8_t> elf;
  std::span<const uint8_t> archive;
  std::optional<Manifest> manifest;
  std::optional<PublicKey> signer;
};

struct TrustedKeys {
  std::string directory;
  std::vector<PublicKey> keys;
};

// Every `*.pub` file in `dir` (each must be a valid public key file).
std::optional<TrustedKeys> load_trusted_keys(const std::string& dir, std::string& error);

// Maps and verifies `path`. With kRequireTrusted, a bare ELF, an unsigned image
// or one signed by a key not in `trusted` is refused. `error` names the file
// and the failure.
std::optional<BootableImage> open_bootable(const std::string& path, SignaturePolicy policy,
                                           const TrustedKeys* trusted, std::string& error);

// Key files: one line, "atoll-ed25519-public HEX" or "atoll-ed25519-secret HEX".
std::optional<PublicKey> read_public_key(const std::string& path, std::string& error);
std::optional<SecretKey> read_secret_key(const std::string& path, std::string& error);
// Writes BASE.key (mode 0600) and BASE.pub; refuses to overwrite either.
bool write_keypair(const std::string& base, const KeyPair& keys, std::string& error);

// Writes `pieces` one after another to `path` through a temporary file renamed
// into place, so a failed write never leaves half an image behind.
bool write_file_atomic(const std::string& path, std::initializer_list<std::span<const uint8_t>> pieces, int mode,
                       std::string& error);

}  // namespace atl::hv::image
