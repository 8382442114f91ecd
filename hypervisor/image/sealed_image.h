// The sealed image format (docs/images.md): one file holding an appliance's ELF,
// its read-only archive and its manifest, pinned by one SHA-256 digest and
// optionally signed with Ed25519.
//
//   offset 0          header, 64 bytes: "ATOLLIMG", format 1, header size,
//                     manifest size, image size (the whole file)
//   64                manifest text (manifest.h), which names each part's
//                     offset, size and SHA-256
//   after it          the ELF, then the archive (if any), back to back
//   image size - 144  trailer: digest = SHA-256(header || manifest), the
//                     signature scheme, public key and signature, "ATOLLEND"
//
// The digest covers the header and manifest; the manifest covers each part by
// its own SHA-256, so every byte before the trailer is pinned by the one digest
// and each part is hashed exactly once, as it is read. The signature (Ed25519)
// is over a context string and the digest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "image_crypto.h"
#include "manifest.h"

namespace atl::hv::image {

inline constexpr char kHeaderMagic[8] = {'A', 'T', 'O', 'L', 'L', 'I', 'M', 'G'};
inline constexpr char kTrailerMagic[8] = {'A', 'T', 'O', 'L', 'L', 'E', 'N', 'D'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kTrailerSize = 144;

// Little-endian, as written to the file (x86-64 only; the build checks).
struct ImageHeader {
  char magic[8];
  uint32_t format;
  uint32_t header_size;
  uint64_t manifest_size;
  uint64_t image_size;
  uint8_t reserved[32];  // zero
};
static_assert(sizeof(ImageHeader) == kHeaderSize);

enum class SignatureScheme : uint32_t { kNone = 0, kEd25519 = 1 };

struct ImageTrailer {
  uint8_t digest[32];
  uint32_t scheme;    // SignatureScheme
  uint32_t reserved;  // zero
  uint8_t public_key[32];  // zero unless signed
  uint8_t signature[64];   // zero unless signed
  char magic[8];
};
static_assert(sizeof(ImageTrailer) == kTrailerSize);
inline constexpr size_t kTrailerSignedOffset = offsetof(ImageTrailer, scheme);

// Why an image was refused: one kind per distinct failure, each with a sentence.
enum class ImageFault {
  kEmpty,
  kNotAnImage,      // neither a sealed image nor an ELF
  kTruncated,       // shorter than its header says (or than any image can be)
  kTrailingBytes,   // longer than its header says
  kBadHeader,       // unknown header size, non-zero reserved bytes, manifest out of bounds
  kUnknownFormat,   // a format version this atoll does not read
  kBadTrailer,      // trailer magic or reserved fields damaged
  kDigestMismatch,  // header or manifest changed after sealing
  kBadManifest,     // the manifest does not parse
  kUnknownAbi,      // built for a Xen ABI this hypervisor does not speak
  kPartLayout,      // the manifest's offsets and sizes do not tile the file
  kElfChanged,      // the ELF part's SHA-256 differs from the manifest's
  kArchiveChanged,  // the archive part's SHA-256 differs from the manifest's
  kBadSignature,    // a signature that does not verify
};
const char* to_string(ImageFault fault);

struct ImageError {
  ImageFault fault;
  std::string message;
};

// "image PATH refused (FAULT): MESSAGE", the one form every verb reports.
std::string refusal_text(const std::string& path, const ImageError& error);

struct ImageOpen;

class SealedImage {
 public:
  // Checks everything in `bytes` before returning it: layout, digest, manifest,
  // ABI, each part's SHA-256, and a signature if
  // there is one. `bytes` must outlive the result (parts are views into it).
  static ImageOpen try_open(std::span<const uint8_t> bytes);
  // Each part's SHA-256 against the manifest's: the work of a sealed image's
  // verification that grows with its size.
  static std::optional<ImageError> check_part_hashes(const Manifest& manifest, std::span<const uint8_t> elf,
                                                     std::span<const uint8_t> archive);
  // A sealed image starts with kHeaderMagic; an ELF with \x7fELF.
  static bool looks_sealed(std::span<const uint8_t> bytes);
  static bool looks_like_elf(std::span<const uint8_t> bytes);

  const Manifest& manifest() const { return m_manifest; }
  const Sha256& digest() const { return m_digest; }
  std::span<const uint8_t> elf() const { return m_elf; }
  std::span<const uint8_t> archive() const { return m_archive; }
  size_t manifest_size() const { return m_manifest_size; }
  size_t image_size() const { return m_image_size; }
  bool is_signed() const { return m_public_key.has_value(); }
  // The key whose signature verified; nullopt when unsigned.
  const std::optional<PublicKey>& signer() const { return m_public_key; }

 private:
  SealedImage() = default;
  std::optional<ImageError> check_parts(std::span<const uint8_t> bytes);

  Manifest m_manifest;
  Sha256 m_digest{};
  std::span<const uint8_t> m_elf;
  std::span<const uint8_t> m_archive;
  size_t m_manifest_size = 0;
  size_t m_image_size = 0;
  std::optional<PublicKey> m_public_key;
};

struct ImageOpen {
  std::optional<SealedImage> image;
  ImageError error;  // when there is no image
};

// An unsigned sealed image around its parts: the header and manifest that go
// before the ELF and the trailer that goes after the archive, so a writer can
// stream the parts from where they are instead of copying them.
struct SealedFrame {
  std::vector<uint8_t> head;     // header || manifest
  std::vector<uint8_t> trailer;  // kTrailerSize bytes
};
// Fills the manifest's sealed keys (version, ABI, parts); `manifest` holds
// the user's keys only.
SealedFrame frame_image(Manifest manifest, std::span<const uint8_t> elf, std::span<const uint8_t> archive);
// head || elf || archive || trailer in one buffer (for tests and small images).
std::vector<uint8_t> seal_image(Manifest manifest, std::span<const uint8_t> elf, std::span<const uint8_t> archive);

// The trailer bytes from kTrailerSignedOffset to its end, signed with `secret`,
// for an image whose digest is `digest` (written in place by `atoll sign`).
std::vector<uint8_t> signed_trailer_tail(const Sha256& digest, const SecretKey& secret);

}  // namespace atl::hv::image
