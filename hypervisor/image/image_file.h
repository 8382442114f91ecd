// Sealed images and keys as files: mapping an image read-only, opening it as
// sealed or bare ELF, checking its signer against a directory of trusted keys,
// and reading and writing key files.
#pragma once

#include <initializer_list>
#include <atomic>
#include <memory>
#include <mutex>
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
  // Set when open_bootable left the part hashes to its caller: PartHashCheck.
  bool parts_unchecked = false;
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
// With PartHashes::kLeaveToCaller everything but the parts' SHA-256 is checked
// (the structure, the manifest's digest, the signature), and the image must
// not boot before a PartHashCheck of it has passed.
std::optional<BootableImage> open_bootable(const std::string& path, SignaturePolicy policy,
                                           const TrustedKeys* trusted, std::string& error,
                                           PartHashes hashes = PartHashes::kCheckNow);

// The part hashes open_bootable left unchecked, worked through a chunk at a
// time by a thread started when the image is opened, while the caller sets
// up. The caller that needs the answer (finish) takes over what is left, or,
// if the thread is in the middle of a chunk (perhaps preempted: on a busy
// machine that wait was up to 18 ms for ~0.3 ms of hashing), hashes it all
// again itself rather than wait for the thread to be scheduled.
class PartHashCheck {
 public:
  explicit PartHashCheck(const BootableImage& image);  // `image` outlives it
  PartHashCheck(const PartHashCheck&) = delete;
  PartHashCheck& operator=(const PartHashCheck&) = delete;

  // The thread's share: hashes the next chunk; true once there is no more
  // to do (the answer is known, or finish has taken over).
  bool step();
  // "" when the parts match (or were checked already), else the refusal,
  // naming the file and which part. The same answer every time.
  std::string finish();

 private:
  struct Part {
    std::span<const uint8_t> bytes;
    Sha256 expected;
    bool archive;
  };
  // How far one pass over the parts has got.
  struct Pass {
    size_t part = 0;
    size_t offset = 0;
    Sha256Stream hash;
    std::optional<std::string> answer;
  };
  // Hashes the next chunk of `pass`; true once pass.answer is set.
  bool advance(Pass& pass) const;

  const std::string m_path;
  std::vector<Part> m_parts;
  std::mutex m_mutex;  // the thread's pass, a chunk at a time
  Pass m_pass;
  std::atomic<bool> m_taken_over{false};
  std::mutex m_answer_mutex;  // finish's
  std::optional<std::string> m_answer;
};

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
