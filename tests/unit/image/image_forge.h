// Builds sealed images by hand for the tests, including ones `atoll seal` would
// never write: a manifest that lies about its parts, a foreign ABI, each with a
// correct digest, so the check under test is the one that must refuse it.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "image/sealed_image.h"

namespace atl::hv::image::forge {

inline std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// header || manifest_text || parts || trailer, with the digest of what is there.
inline std::vector<uint8_t> assemble(const std::string& manifest_text, const std::vector<uint8_t>& parts) {
  ImageHeader h{};
  std::memcpy(h.magic, kHeaderMagic, sizeof h.magic);
  h.format = kFormatVersion;
  h.header_size = kHeaderSize;
  h.manifest_size = manifest_text.size();
  h.image_size = kHeaderSize + manifest_text.size() + parts.size() + kTrailerSize;
  std::vector<uint8_t> out(h.image_size);
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + kHeaderSize, manifest_text.data(), manifest_text.size());
  if (!parts.empty()) std::memcpy(out.data() + kHeaderSize + manifest_text.size(), parts.data(), parts.size());
  ImageTrailer t{};
  Sha256 d = sha256({out.data(), kHeaderSize + manifest_text.size()});
  std::memcpy(t.digest, d.data(), d.size());
  std::memcpy(t.magic, kTrailerMagic, sizeof t.magic);
  std::memcpy(out.data() + out.size() - kTrailerSize, &t, sizeof t);
  return out;
}

// The manifest text of a sealed image, for a test to edit and reassemble.
inline std::string manifest_text_of(const std::vector<uint8_t>& image) {
  ImageHeader h;
  std::memcpy(&h, image.data(), sizeof h);
  return std::string(reinterpret_cast<const char*>(image.data()) + kHeaderSize, h.manifest_size);
}

inline std::vector<uint8_t> parts_of(const std::vector<uint8_t>& image) {
  ImageHeader h;
  std::memcpy(&h, image.data(), sizeof h);
  return {image.begin() + kHeaderSize + h.manifest_size, image.end() - kTrailerSize};
}

inline std::string replace_line(std::string text, const std::string& key, const std::string& line) {
  size_t at = text.find("\n" + key + " ");
  size_t end = text.find('\n', at + 1);
  return text.substr(0, at + 1) + line + text.substr(end);
}

}  // namespace atl::hv::image::forge
