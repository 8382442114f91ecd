#include "manifest.h"

#include <cstdio>

#include "decimal.h"

namespace atl::hv::image {

namespace {

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

// Printable ASCII, tab, and UTF-8's high bytes; no other control characters.
bool clean_line(std::string_view line) {
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

std::optional<ManifestPart> parse_part(std::string_view value) {
  auto w = split_words(value);
  if (w.size() != 3) return std::nullopt;
  auto offset = parse_decimal(w[0]);
  auto size = parse_decimal(w[1]);
  ManifestPart p;
  if (!offset || !size || !from_hex(w[2], p.sha256)) return std::nullopt;
  p.offset = *offset;
  p.size = *size;
  return p;
}

std::string format_part(const ManifestPart& p) {
  return std::to_string(p.offset) + " " + std::to_string(p.size) + " " + to_hex(p.sha256);
}

// The parser's state: the manifest so far and which single-valued keys were seen.
class Reader {
 public:
  explicit Reader(ManifestSource source) : m_source(source) {}

  // Empty on success, else what is wrong with this line.
  std::string take(std::string_view key, std::string_view value) {
    bool sealed_key = key == "atoll-version" || key == "xen-abi" || key == "elf" || key == "archive";
    if (sealed_key && m_source == ManifestSource::kUser) return "`" + std::string(key) + "` is written by atoll seal, not by hand";
    bool repeatable = key == "publish" || key == "disk";
    if (!repeatable && !m_seen.insert_unique(key)) return "`" + std::string(key) + "` is given twice";
    if (key == "name") return take_name(value);
    if (key == "memory") return take_memory(value);
    if (key == "cmdline") { m_m.cmdline = std::string(value); return ""; }
    if (key == "vifs") return take_vifs(value);
    if (key == "publish") return take_publish(value);
    if (key == "disk") return take_disk(value);
    if (key == "atoll-version") return take_version(value);
    if (key == "xen-abi") return take_abi(value);
    if (key == "elf" || key == "archive") return take_part(key, value);
    return "unknown key `" + std::string(key) + "`";
  }

  ManifestParse finish() {
    if (m_source == ManifestSource::kSealed) {
      if (m_m.atoll_version.empty()) return fail("no `atoll-version` line");
      if (!m_m.xen_abi) return fail("no `xen-abi` line");
      if (!m_m.elf) return fail("no `elf` line");
    }
    return {std::move(m_m), {}};
  }

 private:
  struct Seen {
    std::vector<std::string> keys;
    bool insert_unique(std::string_view k) {
      for (auto& s : keys)
        if (s == k) return false;
      keys.emplace_back(k);
      return true;
    }
  };

  static ManifestParse fail(std::string message) { return {std::nullopt, {0, std::move(message)}}; }

  std::string take_name(std::string_view v) {
    if (!valid_name(v)) return "name `" + std::string(v) + "`: use 1 to 64 letters, digits, '-', '_' or '.'";
    m_m.name = std::string(v);
    return "";
  }
  std::string take_memory(std::string_view v) {
    auto bytes = parse_memory_size(v);
    if (!bytes) return "memory takes " + memory_size_rule() + ", not `" + std::string(v) + "`";
    m_m.memory = *bytes;
    return "";
  }
  std::string take_vifs(std::string_view v) {
    auto n = parse_decimal(v, 0, kMaxManifestVifs);
    if (!n) return "vifs takes a whole number " + range_text(0, kMaxManifestVifs) + ", not `" + std::string(v) + "`";
    m_m.vifs = static_cast<unsigned>(*n);
    return "";
  }
  std::string take_publish(std::string_view v) {
    auto p = parse_manifest_port(v);
    if (!p) return "publish takes HOSTPORT:PORT[/udp] with ports 1 to 65535, not `" + std::string(v) + "`";
    if (m_m.publish.size() == kMaxManifestPorts) return "more than " + std::to_string(kMaxManifestPorts) + " publish lines";
    m_m.publish.push_back(*p);
    return "";
  }
  std::string take_disk(std::string_view v) {
    auto d = parse_manifest_disk(v);
    if (!d.disk) return d.error;
    if (m_m.disks.size() == kMaxManifestDisks) return "more than " + std::to_string(kMaxManifestDisks) + " disk lines";
    m_m.disks.push_back(*d.disk);
    return "";
  }
  std::string take_version(std::string_view v) {
    if (v.empty() || v.size() > 32 || split_words(v).size() != 1) return "atoll-version `" + std::string(v) + "` is not a version";
    m_m.atoll_version = std::string(v);
    return "";
  }
  std::string take_abi(std::string_view v) {
    std::optional<uint64_t> abi;
    if (v.size() == 10 && v.substr(0, 2) == "0x") {
      std::array<uint8_t, 4> b{};
      if (from_hex(v.substr(2), b)) abi = uint64_t{b[0]} << 24 | uint64_t{b[1]} << 16 | uint64_t{b[2]} << 8 | b[3];
    }
    if (!abi) return "xen-abi takes a Xen interface version like 0x00040e00, not `" + std::string(v) + "`";
    m_m.xen_abi = static_cast<uint32_t>(*abi);
    return "";
  }
  std::string take_part(std::string_view key, std::string_view v) {
    auto p = parse_part(v);
    if (!p) return std::string(key) + " takes OFFSET SIZE SHA256 (decimal, decimal, 64 hex digits), not `" + std::string(v) + "`";
    (key == "elf" ? m_m.elf : m_m.archive) = *p;
    return "";
  }

  ManifestSource m_source;
  Manifest m_m;
  Seen m_seen;
};

}  // namespace

std::string ManifestError::text() const {
  return line ? "manifest line " + std::to_string(line) + ": " + message : "manifest: " + message;
}

ManifestParse parse_manifest(std::string_view text, ManifestSource source) {
  if (text.size() > kMaxManifestSize)
    return {std::nullopt, {0, "longer than " + std::to_string(kMaxManifestSize) + " bytes"}};
  Reader reader(source);
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!clean_line(line)) return {std::nullopt, {line_no, "holds a control character"}};
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line = line.substr(start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.empty() && key != "cmdline") return {std::nullopt, {line_no, "`" + std::string(key) + "` has no value"}};
    std::string why = reader.take(key, value);
    if (!why.empty()) return {std::nullopt, {line_no, why}};
  }
  return reader.finish();
}

std::string format_manifest(const Manifest& m) {
  std::string t = "# atoll image manifest (docs/images.md)\n";
  if (!m.name.empty()) t += "name " + m.name + "\n";
  if (m.memory) t += "memory " + format_memory_size(m.memory) + "\n";
  if (!m.cmdline.empty()) t += "cmdline " + m.cmdline + "\n";
  if (m.vifs) t += "vifs " + std::to_string(*m.vifs) + "\n";
  for (auto& p : m.publish) t += "publish " + format_manifest_port(p) + "\n";
  for (auto& d : m.disks) t += "disk " + format_manifest_disk(d) + "\n";
  if (!m.atoll_version.empty()) t += "atoll-version " + m.atoll_version + "\n";
  if (m.xen_abi) t += "xen-abi " + format_xen_abi(*m.xen_abi) + "\n";
  if (m.elf) t += "elf " + format_part(*m.elf) + "\n";
  if (m.archive) t += "archive " + format_part(*m.archive) + "\n";
  return t;
}

std::optional<ManifestPort> parse_manifest_port(std::string_view text) {
  ManifestPort p;
  if (text.size() > 4 && text.substr(text.size() - 4) == "/udp") {
    p.udp = true;
    text.remove_suffix(4);
  }
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = parse_decimal(text.substr(0, colon), 1, 65535);
  auto guest = parse_decimal(text.substr(colon + 1), 1, 65535);
  if (!host || !guest) return std::nullopt;
  p.host_port = static_cast<uint16_t>(*host);
  p.guest_port = static_cast<uint16_t>(*guest);
  return p;
}

std::string format_manifest_port(const ManifestPort& p) {
  return std::to_string(p.host_port) + ":" + std::to_string(p.guest_port) + (p.udp ? "/udp" : "");
}

DiskParse parse_manifest_disk(std::string_view text) {
  auto w = split_words(text);
  if (w.empty() || !valid_name(w[0])) return {std::nullopt, "disk needs a name (letters, digits, '-', '_', '.') first, not `" + std::string(text) + "`"};
  ManifestDisk d;
  d.name = std::string(w[0]);
  bool mode_seen = false, need_seen = false;
  for (size_t i = 1; i < w.size(); ++i) {
    std::string_view word = w[i];
    if (word == "unless") {
      if (i + 1 == w.size()) return {std::nullopt, "disk " + d.name + ": `unless` needs the guest arguments that make the disk unneeded"};
      for (size_t j = i + 1; j < w.size(); ++j) d.unless.emplace_back(w[j]);
      break;
    }
    bool is_mode = word == "ro" || word == "rw";
    bool is_need = word == "required" || word == "optional" || word.substr(0, 10) == "ephemeral=";
    if ((is_mode && mode_seen) || (is_need && need_seen))
      return {std::nullopt, "disk " + d.name + ": `" + std::string(word) + "` contradicts an earlier word"};
    if (is_mode) { d.read_only = word == "ro"; mode_seen = true; continue; }
    if (!is_need) return {std::nullopt, "disk " + d.name + ": unknown word `" + std::string(word) + "` (try ro, rw, required, optional, ephemeral=SIZE)"};
    need_seen = true;
    if (word == "required") d.need = DiskNeed::kRequired;
    else if (word == "optional") d.need = DiskNeed::kOptional;
    else {
      auto size = parse_memory_size(word.substr(10));
      if (!size) return {std::nullopt, "disk " + d.name + ": ephemeral= takes " + memory_size_rule()};
      d.need = DiskNeed::kEphemeral;
      d.ephemeral_size = *size;
    }
  }
  if (!d.unless.empty() && d.need != DiskNeed::kRequired)
    return {std::nullopt, "disk " + d.name + ": only a required disk can be needed `unless` some arguments are given"};
  if (d.need == DiskNeed::kEphemeral && d.read_only)
    return {std::nullopt, "disk " + d.name + ": an ephemeral disk starts empty, so it cannot be read-only"};
  return {d, ""};
}

std::string format_manifest_disk(const ManifestDisk& d) {
  std::string t = d.name + (d.read_only ? " ro" : " rw");
  switch (d.need) {
    case DiskNeed::kRequired: {
      t += " required";
      if (!d.unless.empty()) t += " unless";
      for (const auto& word : d.unless) t += " " + word;
      return t;
    }
    case DiskNeed::kOptional: return t + " optional";
    case DiskNeed::kEphemeral: return t + " ephemeral=" + format_memory_size(d.ephemeral_size);
  }
  return t;
}

std::string format_xen_abi(uint32_t abi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", abi);
  return buf;
}

}  // namespace atl::hv::image
