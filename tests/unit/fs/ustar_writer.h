// A tiny ustar writer for tests: builds archives byte by byte, including the
// broken ones a real tar would never write.
#pragma once

#include <stdio.h>
#include <string.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ustar.h"

namespace atl::fs::testing {

class TarWriter {
 public:
  enum class Magic { kPosix, kGnu };

  // A header block; returns its offset. `size` goes in the size field as octal.
  size_t header(std::string_view name, char type, uint64_t size, std::string_view link = {},
                Magic magic = Magic::kPosix, std::string_view prefix = {}) {
    size_t at = m_bytes.size();
    m_bytes.resize(at + ustar::kBlockSize);
    ustar::Header& h = header_at(at);
    memcpy(h.name, name.data(), std::min(name.size(), sizeof h.name));
    snprintf(h.mode, sizeof h.mode, "%07o", type == ustar::kDirectory ? 0755 : 0644);
    snprintf(h.uid, sizeof h.uid, "%07o", 0);
    snprintf(h.gid, sizeof h.gid, "%07o", 0);
    snprintf(h.size, sizeof h.size, "%011llo", static_cast<unsigned long long>(size));
    snprintf(h.mtime, sizeof h.mtime, "%011o", 1700000000);
    h.typeflag = type;
    memcpy(h.linkname, link.data(), std::min(link.size(), sizeof h.linkname));
    if (magic == Magic::kPosix) {
      memcpy(h.magic, "ustar", 6);
      memcpy(h.version, "00", 2);
    } else {
      memcpy(h.magic, "ustar ", 6);
      memcpy(h.version, " ", 2);
    }
    memcpy(h.prefix, prefix.data(), std::min(prefix.size(), sizeof h.prefix));
    seal(at);
    return at;
  }

  // Data blocks, zero-padded to a whole block.
  void data(std::string_view bytes) {
    m_bytes.insert(m_bytes.end(), bytes.begin(), bytes.end());
    m_bytes.resize(ustar::padded(m_bytes.size()));
  }

  size_t file(std::string_view name, std::string_view content) {
    size_t at = header(name, ustar::kRegular, content.size());
    data(content);
    return at;
  }
  size_t dir(std::string_view name) { return header(name, ustar::kDirectory, 0); }
  size_t symlink(std::string_view name, std::string_view target) { return header(name, ustar::kSymlink, 0, target); }

  // GNU 'L' record: the next header's name.
  void long_name(std::string_view name) {
    std::string text(name);
    text.push_back('\0');
    header("././@LongLink", ustar::kGnuLongName, text.size(), {}, Magic::kGnu);
    data(text);
  }

  // pax 'x' (or 'g') record with "LEN key=value\n" records.
  void pax(const std::vector<std::pair<std::string, std::string>>& kv, char type = ustar::kPaxHeader) {
    std::string text;
    for (auto& [k, v] : kv) text += record(k, v);
    pax_raw(text, type);
  }
  void pax_raw(std::string_view text, char type = ustar::kPaxHeader) {
    header("PaxHeaders/x", type, text.size());
    data(text);
  }

  void end() { m_bytes.resize(m_bytes.size() + 2 * ustar::kBlockSize); }

  ustar::Header& header_at(size_t offset) { return *reinterpret_cast<ustar::Header*>(&m_bytes[offset]); }
  // Recomputes the checksum after a test edits a header.
  void seal(size_t offset) {
    ustar::Header& h = header_at(offset);
    memset(h.chksum, ' ', sizeof h.chksum);
    unsigned sum = 0;
    for (size_t i = 0; i < ustar::kBlockSize; ++i) sum += m_bytes[offset + i];
    snprintf(h.chksum, sizeof h.chksum, "%06o", sum);
    h.chksum[7] = ' ';
  }

  std::vector<uint8_t>& bytes() { return m_bytes; }

  static std::string record(const std::string& key, const std::string& value) {
    std::string body = " " + key + "=" + value + "\n";
    size_t len = body.size() + 1;
    while (std::to_string(len).size() + body.size() != len) ++len;
    return std::to_string(len) + body;
  }

 private:
  std::vector<uint8_t> m_bytes;
};

}  // namespace atl::fs::testing
