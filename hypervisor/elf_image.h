// Parses and validates a guest image (a static x86-64 ELF linked for the hosted
// platform) without trusting any of it: every offset, size and address is checked
// before use, and each rejection says what is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "atoll/hosted_abi.h"

namespace atl::hv {

struct ImageSegment {
  uint64_t vaddr;
  uint64_t file_offset;
  uint64_t file_size;
  uint64_t mem_size;
  uint32_t prot;  // hosted::kProt*
};

struct Symbol {
  uint64_t address;
  uint64_t size;
  std::string name;
};

class ElfImage {
 public:
  // Validates `bytes` as a hosted-platform image. On failure returns nullopt and
  // sets `error` to a sentence naming the problem.
  static std::optional<ElfImage> try_parse(std::span<const uint8_t> bytes, std::string& error);

  uint64_t entry() const { return m_entry; }
  const std::vector<ImageSegment>& segments() const { return m_segments; }
  // First guest-virtual address past the last loaded byte, page aligned.
  uint64_t end() const { return m_end; }
  std::span<const uint8_t> bytes() const { return m_bytes; }

  // "function+0xoff" for an address inside a known function, nullopt otherwise.
  std::optional<std::string> symbolize(uint64_t address) const;
  bool has_symbols() const { return !m_symbols.empty(); }
  // Whether the image defines function `name` (images mark what they want,
  // e.g. atoll_wants_network; a stripped image marks nothing).
  bool defines(std::string_view name) const;

 private:
  ElfImage() = default;
  void load_symbols(std::span<const uint8_t> bytes);

  std::span<const uint8_t> m_bytes;
  uint64_t m_entry = 0;
  uint64_t m_end = 0;
  std::vector<ImageSegment> m_segments;
  std::vector<Symbol> m_symbols;  // FUNC symbols sorted by address
};

}  // namespace atl::hv
