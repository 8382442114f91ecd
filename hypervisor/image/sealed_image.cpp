#include "sealed_image.h"

#include <cstring>

namespace atl::hv::image {

namespace {

constexpr uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};

// The atoll release sealing images, and the one written into their manifests.
constexpr char kAtollVersion[] = "0.1.0";

ImageOpen refuse(ImageFault fault, std::string message) { return {std::nullopt, {fault, std::move(message)}}; }

template <typename T>
T read_struct(std::span<const uint8_t> bytes, size_t offset) {
  T out;
  std::memcpy(&out, bytes.data() + offset, sizeof out);
  return out;
}

bool all_zero(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

std::string bytes_text(uint64_t n) { return std::to_string(n) + " bytes"; }

// The header's own checks, before anything it points at is read.
std::optional<ImageError> check_header(const ImageHeader& h, size_t file_size) {
  if (h.format != kFormatVersion)
    return ImageError{ImageFault::kUnknownFormat, "sealed image format " + std::to_string(h.format) +
                                                      " is not one this atoll reads (it reads format " +
                                                      std::to_string(kFormatVersion) + ")"};
  if (h.header_size != kHeaderSize || !all_zero({h.reserved, sizeof h.reserved}))
    return ImageError{ImageFault::kBadHeader, "the header is damaged (header size " + std::to_string(h.header_size) +
                                                  ", reserved bytes must be zero)"};
  if (h.image_size > file_size)
    return ImageError{ImageFault::kTruncated, "truncated: the header says the image is " + bytes_text(h.image_size) +
                                                  " but the file has " + bytes_text(file_size)};
  if (h.image_size < file_size)
    return ImageError{ImageFault::kTrailingBytes, "the file has " + bytes_text(file_size - h.image_size) +
                                                      " after the end of the image its header describes"};
  if (h.manifest_size == 0 || h.manifest_size > kMaxManifestSize || kHeaderSize + h.manifest_size + kTrailerSize > h.image_size)
    return ImageError{ImageFault::kBadHeader, "the header's manifest size (" + bytes_text(h.manifest_size) +
                                                  ") does not fit the image"};
  return std::nullopt;
}

std::optional<ImageError> check_trailer(const ImageTrailer& t) {
  if (std::memcmp(t.magic, kTrailerMagic, sizeof t.magic) != 0 || t.reserved != 0)
    return ImageError{ImageFault::kBadTrailer, "the trailer (digest and signature) is damaged or missing"};
  if (t.scheme == static_cast<uint32_t>(SignatureScheme::kNone) &&
      !(all_zero({t.public_key, sizeof t.public_key}) && all_zero({t.signature, sizeof t.signature})))
    return ImageError{ImageFault::kBadTrailer, "the trailer says unsigned but holds a key or signature"};
  if (t.scheme != static_cast<uint32_t>(SignatureScheme::kNone) && t.scheme != static_cast<uint32_t>(SignatureScheme::kEd25519))
    return ImageError{ImageFault::kBadTrailer, "unknown signature scheme " + std::to_string(t.scheme)};
  return std::nullopt;
}

std::string range_of(const ManifestPart& p) {
  return "[" + std::to_string(p.offset) + ", " + std::to_string(p.offset + p.size) + ")";
}

}  // namespace

const char* to_string(ImageFault fault) {
  switch (fault) {
    case ImageFault::kEmpty: return "empty";
    case ImageFault::kNotAnImage: return "not-an-image";
    case ImageFault::kTruncated: return "truncated";
    case ImageFault::kTrailingBytes: return "trailing-bytes";
    case ImageFault::kBadHeader: return "bad-header";
    case ImageFault::kUnknownFormat: return "unknown-format";
    case ImageFault::kBadTrailer: return "bad-trailer";
    case ImageFault::kDigestMismatch: return "digest-mismatch";
    case ImageFault::kBadManifest: return "bad-manifest";
    case ImageFault::kUnknownAbi: return "unknown-abi";
    case ImageFault::kPartLayout: return "part-layout";
    case ImageFault::kElfChanged: return "elf-changed";
    case ImageFault::kArchiveChanged: return "archive-changed";
    case ImageFault::kBadSignature: return "bad-signature";
  }
  return "unknown";
}

std::string refusal_text(const std::string& path, const ImageError& error) {
  return "image " + path + " refused (" + to_string(error.fault) + "): " + error.message;
}

bool SealedImage::looks_sealed(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kHeaderMagic && std::memcmp(bytes.data(), kHeaderMagic, sizeof kHeaderMagic) == 0;
}

bool SealedImage::looks_like_elf(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kElfMagic && std::memcmp(bytes.data(), kElfMagic, sizeof kElfMagic) == 0;
}

ImageOpen SealedImage::try_open(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return refuse(ImageFault::kEmpty, "the file is empty");
  if (!looks_sealed(bytes)) {
    // A prefix of the magic is a sealed image cut short, not a stranger.
    size_t n = std::min(bytes.size(), sizeof kHeaderMagic);
    if (bytes.size() < sizeof kHeaderMagic && std::memcmp(bytes.data(), kHeaderMagic, n) == 0)
      return refuse(ImageFault::kTruncated, "truncated: " + bytes_text(bytes.size()) + ", shorter than a header");
    return refuse(ImageFault::kNotAnImage, "not an ELF and not a sealed Atoll image (it starts with neither \\x7fELF nor ATOLLIMG)");
  }
  if (bytes.size() < kHeaderSize + kTrailerSize)
    return refuse(ImageFault::kTruncated, "truncated: " + bytes_text(bytes.size()) + ", shorter than any sealed image");
  auto header = read_struct<ImageHeader>(bytes, 0);
  if (auto e = check_header(header, bytes.size())) return {std::nullopt, *e};
  auto trailer = read_struct<ImageTrailer>(bytes, bytes.size() - kTrailerSize);
  if (auto e = check_trailer(trailer)) return {std::nullopt, *e};

  SealedImage img;
  img.m_image_size = bytes.size();
  img.m_manifest_size = header.manifest_size;
  img.m_digest = sha256(bytes.first(kHeaderSize + header.manifest_size));
  if (std::memcmp(img.m_digest.data(), trailer.digest, sizeof trailer.digest) != 0)
    return refuse(ImageFault::kDigestMismatch,
                  "the header or manifest was changed after sealing (their SHA-256 is not the image's digest)");
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + kHeaderSize), header.manifest_size);
  auto parsed = parse_manifest(text, ManifestSource::kSealed);
  if (!parsed.manifest) return refuse(ImageFault::kBadManifest, parsed.error.text());
  img.m_manifest = std::move(*parsed.manifest);
  if (*img.m_manifest.xen_abi != kXenAbi)
    return refuse(ImageFault::kUnknownAbi, "built for Xen ABI " + format_xen_abi(*img.m_manifest.xen_abi) +
                                               " (atoll " + img.m_manifest.atoll_version + "); this atoll speaks " +
                                               format_xen_abi(kXenAbi));
  if (auto e = img.check_parts(bytes)) return {std::nullopt, *e};
  if (trailer.scheme == static_cast<uint32_t>(SignatureScheme::kEd25519)) {
    PublicKey key;
    Signature sig;
    std::memcpy(key.data(), trailer.public_key, key.size());
    std::memcpy(sig.data(), trailer.signature, sig.size());
    if (!verify_digest(img.m_digest, sig, key))
      return refuse(ImageFault::kBadSignature, "the signature does not verify for key " + to_hex(key) +
                                                   " (signed over other bytes, or changed)");
    img.m_public_key = key;
  }
  return {std::move(img), {}};
}

// The parts tile the file exactly: ELF right after the manifest, the archive
// right after the ELF, the trailer right after that; then each part's SHA-256.
std::optional<ImageError> SealedImage::check_parts(std::span<const uint8_t> bytes) {
  const ManifestPart& elf = *m_manifest.elf;
  const uint64_t parts_end = bytes.size() - kTrailerSize;
  const uint64_t elf_start = kHeaderSize + m_manifest_size;
  auto lie = [&](const std::string& what) {
    return ImageError{ImageFault::kPartLayout, "the manifest's part table does not match the file: " + what};
  };
  if (elf.offset != elf_start)
    return lie("the ELF is said to start at " + std::to_string(elf.offset) + ", but the manifest ends at " +
               std::to_string(elf_start));
  if (elf.size == 0) return lie("the ELF is said to be empty");
  if (elf.size > parts_end - elf.offset)
    return lie("the ELF is said to be " + range_of(elf) + ", past the parts' end at " + std::to_string(parts_end));
  uint64_t end = elf.offset + elf.size;
  if (const auto& ar = m_manifest.archive) {
    if (ar->offset != end)
      return lie("the archive is said to start at " + std::to_string(ar->offset) + ", but the ELF ends at " + std::to_string(end));
    if (ar->size == 0) return lie("the archive is said to be empty (an image without one has no archive line)");
    if (ar->size > parts_end - ar->offset)
      return lie("the archive is said to be " + range_of(*ar) + ", past the parts' end at " + std::to_string(parts_end));
    end = ar->offset + ar->size;
  }
  if (end != parts_end)
    return lie("the parts end at " + std::to_string(end) + " but the trailer starts at " + std::to_string(parts_end));

  m_elf = bytes.subspan(elf.offset, elf.size);
  if (const auto& ar = m_manifest.archive) m_archive = bytes.subspan(ar->offset, ar->size);
  return check_part_hashes(m_manifest, m_elf, m_archive);
}

std::optional<ImageError> SealedImage::check_part_hashes(const Manifest& manifest, std::span<const uint8_t> elf,
                                                         std::span<const uint8_t> archive) {
  if (!manifest.elf || sha256(elf) != manifest.elf->sha256)
    return ImageError{ImageFault::kElfChanged, "the ELF part was changed after sealing (its SHA-256 is not the manifest's)"};
  if (manifest.archive && sha256(archive) != manifest.archive->sha256)
    return ImageError{ImageFault::kArchiveChanged,
                      "the archive part was changed after sealing (its SHA-256 is not the manifest's)"};
  return std::nullopt;
}

SealedFrame frame_image(Manifest manifest, std::span<const uint8_t> elf, std::span<const uint8_t> archive) {
  manifest.atoll_version = kAtollVersion;
  manifest.xen_abi = kXenAbi;
  const Sha256 elf_sha = sha256(elf);
  const Sha256 archive_sha = archive.empty() ? Sha256{} : sha256(archive);
  // The parts' offsets depend on the manifest's length, which depends on the
  // offsets' digits: settle it by trying until the length stops moving.
  std::string text;
  size_t manifest_size = 0;
  for (;;) {
    uint64_t elf_offset = kHeaderSize + manifest_size;
    manifest.elf = ManifestPart{elf_offset, elf.size(), elf_sha};
    if (!archive.empty()) manifest.archive = ManifestPart{elf_offset + elf.size(), archive.size(), archive_sha};
    else manifest.archive.reset();
    text = format_manifest(manifest);
    if (text.size() == manifest_size) break;
    manifest_size = text.size();
  }
  ImageHeader h{};
  std::memcpy(h.magic, kHeaderMagic, sizeof h.magic);
  h.format = kFormatVersion;
  h.header_size = kHeaderSize;
  h.manifest_size = text.size();
  h.image_size = kHeaderSize + text.size() + elf.size() + archive.size() + kTrailerSize;

  SealedFrame f;
  f.head.resize(kHeaderSize + text.size());
  std::memcpy(f.head.data(), &h, sizeof h);
  std::memcpy(f.head.data() + kHeaderSize, text.data(), text.size());
  ImageTrailer t{};
  Sha256 digest = sha256(f.head);
  std::memcpy(t.digest, digest.data(), digest.size());
  t.scheme = static_cast<uint32_t>(SignatureScheme::kNone);
  std::memcpy(t.magic, kTrailerMagic, sizeof t.magic);
  auto* raw = reinterpret_cast<const uint8_t*>(&t);
  f.trailer.assign(raw, raw + sizeof t);
  return f;
}

std::vector<uint8_t> seal_image(Manifest manifest, std::span<const uint8_t> elf, std::span<const uint8_t> archive) {
  SealedFrame f = frame_image(std::move(manifest), elf, archive);
  std::vector<uint8_t> out = f.head;
  out.insert(out.end(), elf.begin(), elf.end());
  out.insert(out.end(), archive.begin(), archive.end());
  out.insert(out.end(), f.trailer.begin(), f.trailer.end());
  return out;
}

std::vector<uint8_t> signed_trailer_tail(const Sha256& digest, const SecretKey& secret) {
  ImageTrailer t{};
  t.scheme = static_cast<uint32_t>(SignatureScheme::kEd25519);
  PublicKey key = public_key_of(secret);
  Signature sig = sign_digest(digest, secret);
  std::memcpy(t.public_key, key.data(), key.size());
  std::memcpy(t.signature, sig.data(), sig.size());
  std::memcpy(t.magic, kTrailerMagic, sizeof t.magic);
  auto* raw = reinterpret_cast<const uint8_t*>(&t);
  return {raw + kTrailerSignedOffset, raw + sizeof t};
}

}  // namespace atl::hv::image
