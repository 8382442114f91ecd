// libFuzzer target for the sealed image format (hypervisor/image): the whole
// input as an image file, and the same bytes as manifest text both ways. Any
// input must be accepted or refused with a fault; nothing may read outside it.
// An accepted image's parts must lie inside the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/sealed_image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atl::hv::image;
  static const bool ready = crypto_ready();
  if (!ready) abort();
  std::span<const uint8_t> bytes(data, size);
  auto opened = SealedImage::try_open(bytes);
  if (opened.image) {
    auto inside = [&](std::span<const uint8_t> part) {
      return part.empty() || (part.data() >= data && part.data() + part.size() <= data + size);
    };
    if (!inside(opened.image->elf()) || !inside(opened.image->archive()) || opened.image->elf().empty()) abort();
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto source : {ManifestSource::kUser, ManifestSource::kSealed}) {
    auto parsed = parse_manifest(text, source);
    // What parses must format to text that parses to the same text again.
    if (parsed.manifest) {
      std::string once = format_manifest(*parsed.manifest);
      auto again = parse_manifest(once, source);
      if (!again.manifest || format_manifest(*again.manifest) != once) abort();
    }
  }
  return 0;
}
