// The walk over an archive's headers (ArchiveParser) and the tree it builds.
#include "archive_index.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ustar.h"

namespace atl::fs {

namespace {

// Metadata that applies to the next real entry: GNU long names and pax keys.
struct Pending {
  std::optional<std::string> path;      // pax path=, else GNU 'L'
  std::optional<std::string> linkpath;  // pax linkpath=, else GNU 'K'
  std::optional<uint64_t> size;         // pax size=
  std::optional<int64_t> mtime;         // pax mtime=
  bool sparse = false;                  // GNU.sparse.*: not supported
  bool any = false;
};

const char* type_name(char typeflag) {
  switch (typeflag) {
    case ustar::kHardLink: return "hard link";
    case ustar::kCharDev: return "character device";
    case ustar::kBlockDev: return "block device";
    case ustar::kFifo: return "fifo";
    default: return "unsupported type";
  }
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

}  // namespace

// One pass over the headers; any error ends it with kInval (or kNoMem) and
// one log line naming the header's offset.
class ArchiveParser {
 public:
  ArchiveParser(ByteSource& source, const ParseOptions& options, ArchiveIndex& index)
      : m_source(source), m_options(options), m_index(index) {}

  Result<void> run();

 private:
  Result<void> step(const ustar::Header& h, bool& end);
  Result<void> read_meta(uint64_t offset, uint64_t size, std::string& out);
  Result<void> apply_pax(const std::string& data);
  Result<void> add_entry(const ustar::Header& h, uint64_t size, uint64_t data_offset);
  Result<NodeId> insert(const std::vector<std::string_view>& parts, NodeType type, int64_t mtime);
  NodeId new_node(NodeId parent, std::string_view name, NodeType type, int64_t mtime);
  void make(Node& n, NodeType type);
  Errno fail(Errno e, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  ByteSource& m_source;
  const ParseOptions& m_options;
  ArchiveIndex& m_index;
  uint64_t m_offset = 0;  // of the header being looked at
  Pending m_pending;
};

Result<void> ArchiveParser::run() {
  const uint64_t total = m_source.size();
  for (bool end = false; !end;) {
    if (m_offset == total) return fail(Errno::kInval, "archive ends at offset %llu without an end-of-archive block",
                                       static_cast<unsigned long long>(m_offset));
    if (!in_bounds(m_offset, ustar::kBlockSize, total))
      return fail(Errno::kInval, "truncated header at offset %llu", static_cast<unsigned long long>(m_offset));
    ustar::Header h;
    if (auto r = m_source.read(m_offset, &h, sizeof h); !r.ok())
      return fail(r.error(), "cannot read the header at offset %llu", static_cast<unsigned long long>(m_offset));
    if (auto r = step(h, end); !r.ok()) return r;
  }
  return {};
}

Result<void> ArchiveParser::step(const ustar::Header& h, bool& end) {
  if (ustar::is_zero_block(h)) {
    if (m_pending.any) return fail(Errno::kInval, "extended header not followed by an entry");
    end = true;
    return {};
  }
  if (ustar::magic_of(h) == ustar::Magic::kNone) return fail(Errno::kInval, "no ustar header (bad magic)");
  if (!ustar::checksum_ok(h)) return fail(Errno::kInval, "bad header checksum");
  std::optional<int64_t> header_size = ustar::parse_number(h.size, sizeof h.size);
  if (!header_size) return fail(Errno::kInval, "bad size field");
  const char type = h.typeflag;
  const bool meta = type == ustar::kGnuLongName || type == ustar::kGnuLongLink || type == ustar::kPaxHeader ||
                    type == ustar::kPaxGlobal;
  uint64_t size = (!meta && m_pending.size) ? *m_pending.size : static_cast<uint64_t>(*header_size);
  uint64_t data_offset = m_offset + ustar::kBlockSize;
  uint64_t data = ustar::data_bytes(type, size);
  if (data > (UINT64_MAX >> 1) || !in_bounds(data_offset, ustar::padded(data), m_source.size()))
    return fail(Errno::kInval, "size %llu runs past the end of the archive (%llu bytes)",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(m_source.size()));
  Result<void> r;
  switch (type) {
    case ustar::kGnuLongName:
    case ustar::kGnuLongLink: {
      std::string text;
      if (r = read_meta(data_offset, size, text); !r.ok()) return r;
      text.resize(strnlen(text.data(), text.size()));
      if (text.empty()) return fail(Errno::kInval, "empty GNU long name");
      (type == ustar::kGnuLongName ? m_pending.path : m_pending.linkpath) = std::move(text);
      m_pending.any = true;
      break;
    }
    case ustar::kPaxHeader: {
      std::string text;
      if (r = read_meta(data_offset, size, text); !r.ok()) return r;
      if (r = apply_pax(text); !r.ok()) return r;
      break;
    }
    case ustar::kPaxGlobal:
      break;
    case ustar::kRegular:
    case '\0':
    case ustar::kContiguous:
    case ustar::kDirectory:
    case ustar::kSymlink:
      if (r = add_entry(h, size, data_offset); !r.ok()) return r;
      m_pending = {};
      break;
    default:
      log("skipping '%.100s' at offset %llu: %s", ustar::member_name(h).c_str(),
          static_cast<unsigned long long>(m_offset), type_name(type));
      ++m_index.m_skipped;
      m_pending = {};
      break;
  }
  m_offset = data_offset + ustar::padded(data);
  return {};
}

Result<void> ArchiveParser::read_meta(uint64_t offset, uint64_t size, std::string& out) {
  if (size > m_options.max_meta)
    return fail(Errno::kInval, "extended header of %llu bytes is over the limit", static_cast<unsigned long long>(size));
  out.resize(size);
  if (auto r = m_source.read(offset, out.data(), size); !r.ok())
    return fail(r.error(), "cannot read the extended header");
  return {};
}

Result<void> ArchiveParser::apply_pax(const std::string& data) {
  auto records = ustar::parse_pax(data);
  if (!records) return fail(Errno::kInval, "malformed pax extended header");
  for (const ustar::PaxRecord& rec : *records) {
    if (rec.key == "path" || rec.key == "linkpath") {
      auto& slot = rec.key == "path" ? m_pending.path : m_pending.linkpath;
      if (rec.value.empty()) slot.reset(); else slot = std::string(rec.value);
    } else if (rec.key == "size") {
      m_pending.size = ustar::parse_decimal(rec.value);
      if (!m_pending.size) return fail(Errno::kInval, "bad pax size");
    } else if (rec.key == "mtime") {
      m_pending.mtime = ustar::parse_pax_time(rec.value);
      if (!m_pending.mtime) return fail(Errno::kInval, "bad pax mtime");
    } else if (rec.key.substr(0, 11) == "GNU.sparse.") {
      m_pending.sparse = true;
    }
  }
  m_pending.any = true;
  return {};
}

Result<void> ArchiveParser::add_entry(const ustar::Header& h, uint64_t size, uint64_t data_offset) {
  std::string name = m_pending.path ? *m_pending.path : ustar::member_name(h);
  std::string link = m_pending.linkpath ? *m_pending.linkpath
                                        : std::string(ustar::field_string(h.linkname, sizeof h.linkname));
  if (name.empty()) return fail(Errno::kInval, "empty member name");
  if (name.size() > m_options.max_path || link.size() > m_options.max_path)
    return fail(Errno::kInval, "member name or link target longer than %zu bytes", m_options.max_path);
  if (memchr(name.data(), '\0', name.size()) || memchr(link.data(), '\0', link.size()))
    return fail(Errno::kInval, "NUL inside a member name");
  std::optional<int64_t> mode = ustar::parse_number(h.mode, sizeof h.mode);
  if (!mode) return fail(Errno::kInval, "bad mode field in '%.100s'", name.c_str());
  std::optional<int64_t> mtime = m_pending.mtime ? m_pending.mtime : ustar::parse_number(h.mtime, sizeof h.mtime);
  if (!mtime) return fail(Errno::kInval, "bad mtime field in '%.100s'", name.c_str());
  if (m_pending.sparse) {
    log("skipping '%.100s' at offset %llu: sparse file", name.c_str(), static_cast<unsigned long long>(m_offset));
    ++m_index.m_skipped;
    return {};
  }

  NodeType type = NodeType::kFile;
  if (h.typeflag == ustar::kDirectory || (h.typeflag != ustar::kSymlink && name.back() == '/')) type = NodeType::kDirectory;
  if (h.typeflag == ustar::kSymlink) type = NodeType::kSymlink;
  if (type == NodeType::kSymlink && link.empty()) return fail(Errno::kInval, "symlink '%.100s' has no target", name.c_str());

  std::optional<std::string> normal = normalize_member_path(name);
  if (!normal) return fail(Errno::kInval, "path '%.100s' escapes the archive root", name.c_str());
  std::vector<std::string_view> parts = split_path(*normal);
  for (std::string_view part : parts) {
    if (part.size() > ArchiveIndex::kMaxNameComponent)
      return fail(Errno::kInval, "a component of '%.100s' is longer than 255 bytes", name.c_str());
  }
  if (parts.empty() && type != NodeType::kDirectory)
    return fail(Errno::kInval, "'%.100s' names the archive root but is not a directory", name.c_str());

  Result<NodeId> id = insert(parts, type, *mtime);
  if (!id.ok()) return id.error();
  Node& n = m_index.m_nodes[index_of(id.value())];
  n.mode = static_cast<uint32_t>(*mode) & 07777;
  n.mtime = *mtime;
  if (type == NodeType::kFile) {
    n.size = size;
    n.data_offset = data_offset;
  } else if (type == NodeType::kSymlink) {
    n.link_target = std::move(link);
    n.size = n.link_target.size();
  }
  return {};
}

// Walks `parts` from the root, making missing directories, and returns the
// node for the last part, now of `type`. Whatever was there before is
// replaced (the later entry wins), except that a directory over a directory
// keeps its children; a non-directory on the way becomes a directory.
Result<NodeId> ArchiveParser::insert(const std::vector<std::string_view>& parts, NodeType type, int64_t mtime) {
  NodeId dir = kRootNode;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const NodeType want = last ? type : NodeType::kDirectory;
    std::optional<NodeId> existing = m_index.child(dir, parts[i]);
    if (!existing) {
      if (m_index.m_nodes.size() >= m_options.max_nodes)
        return fail(Errno::kNoMem, "more than %u entries", m_options.max_nodes);
      dir = new_node(dir, parts[i], want, mtime);
      continue;
    }
    Node& n = m_index.m_nodes[index_of(*existing)];
    if (last || n.type != NodeType::kDirectory) {
      if (!(n.type == NodeType::kDirectory && want == NodeType::kDirectory)) make(n, want);
    }
    dir = *existing;
  }
  return dir;
}

NodeId ArchiveParser::new_node(NodeId parent, std::string_view name, NodeType type, int64_t mtime) {
  NodeId id{static_cast<uint32_t>(m_index.m_nodes.size())};
  Node n;
  make(n, type);
  n.parent = parent;
  n.name = std::string(name);
  n.mtime = mtime;
  m_index.m_nodes[index_of(parent)].children.emplace(n.name, id);
  m_index.m_nodes.push_back(std::move(n));
  return id;
}

// Resets a node to a fresh one of `type`; a directory's old subtree is dropped.
void ArchiveParser::make(Node& n, NodeType type) {
  n.type = type;
  n.mode = type == NodeType::kDirectory ? 0755 : 0644;
  n.size = 0;
  n.data_offset = 0;
  n.link_target.clear();
  n.children.clear();
}

Errno ArchiveParser::fail(Errno e, const char* fmt, ...) {
  char text[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  log("bad archive: %s (header at offset %llu)", text, static_cast<unsigned long long>(m_offset));
  return e;
}

void ArchiveParser::log(const char* fmt, ...) {
  if (!m_options.log) return;
  char line[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  m_options.log(line);
}

ArchiveIndex::ArchiveIndex() {
  m_nodes.emplace_back();  // the root: a directory named ""
}

Result<ArchiveIndex> ArchiveIndex::try_parse(ByteSource& source, const ParseOptions& options) {
  ArchiveIndex index;
  ArchiveParser parser(source, options, index);
  if (auto r = parser.run(); !r.ok()) return r.error();
  return index;
}

bool ArchiveIndex::looks_like_archive(ByteSource& source) {
  ustar::Header h;
  if (source.size() < sizeof h || !source.read(0, &h, sizeof h).ok()) return false;
  return ustar::magic_of(h) != ustar::Magic::kNone && ustar::checksum_ok(h);
}

std::optional<NodeId> ArchiveIndex::child(NodeId dir, std::string_view name) const {
  const Node& d = node(dir);
  auto it = d.children.find(name);
  if (it == d.children.end()) return std::nullopt;
  return it->second;
}

std::optional<NodeId> ArchiveIndex::find(std::string_view path) const {
  NodeId at = kRootNode;
  for (std::string_view part : split_path(path)) {
    if (node(at).type != NodeType::kDirectory) return std::nullopt;
    std::optional<NodeId> next = child(at, part);
    if (!next) return std::nullopt;
    at = *next;
  }
  return at;
}

std::optional<std::string> normalize_member_path(std::string_view name) {
  std::vector<std::string_view> out;
  for (std::string_view part : split_path(name)) {
    if (part == ".") continue;
    if (part == "..") {
      if (out.empty()) return std::nullopt;
      out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  std::string joined;
  for (std::string_view part : out) {
    if (!joined.empty()) joined += '/';
    joined += part;
  }
  return joined;
}

}  // namespace atl::fs
