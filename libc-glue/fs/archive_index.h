// An archive's table of contents in memory: one walk over a ustar archive's
// headers at mount time builds a tree of nodes (path -> type, size, mtime,
// mode, where the data starts); reads then go straight to the data.
//
// Validation is the point: every header's checksum, magic and numeric fields,
// every size against the end of the source, every name's length and
// termination, paths normalised with "." and ".." resolved and never escaping
// the root. Duplicates behave like tar extraction: the later entry wins. A bad
// archive is Errno::kInval (kNoMem past the limits below), with one log line
// that names the offset; it never crashes.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atoll/result.h"
#include "byte_source.h"

namespace atl::fs {

enum class NodeType : uint8_t { kFile, kDirectory, kSymlink };

// A node's index in its archive's table; the root is kRootNode.
enum class NodeId : uint32_t {};
constexpr NodeId kRootNode{0};
constexpr uint32_t index_of(NodeId id) { return static_cast<uint32_t>(id); }

struct Node {
  NodeType type = NodeType::kDirectory;
  uint32_t mode = 0755;       // permission bits only (07777)
  int64_t mtime = 0;          // seconds since the epoch
  uint64_t size = 0;          // bytes of data (files), target length (symlinks)
  uint64_t data_offset = 0;   // where a file's data starts in the source
  NodeId parent = kRootNode;  // the root is its own parent
  std::string name;           // the last path component; "" for the root
  std::string link_target;    // symlinks
  std::map<std::string, NodeId, std::less<>> children;  // directories, sorted
};

struct ParseOptions {
  // Receives one line (no newline) per skipped entry and one for the error
  // that ends a failed parse.
  std::function<void(const char* line)> log;
  uint32_t max_nodes = 65536;
  size_t max_path = 4096;          // bytes in a member name or link target
  size_t max_meta = 1024 * 1024;   // bytes in one pax or GNU long-name record
};

class ArchiveIndex {
 public:
  static constexpr size_t kMaxNameComponent = 255;

  static Result<ArchiveIndex> try_parse(ByteSource& source, const ParseOptions& options = {});
  // Whether the source starts with a ustar header (magic and checksum): what
  // auto-mount asks before it takes a disk for an archive.
  static bool looks_like_archive(ByteSource& source);

  const Node& node(NodeId id) const { return m_nodes[index_of(id)]; }
  size_t node_count() const { return m_nodes.size(); }
  std::optional<NodeId> child(NodeId dir, std::string_view name) const;
  // A normalised relative path ("a/b", "" for the root); symlinks are not followed.
  std::optional<NodeId> find(std::string_view path) const;
  // Entries skipped because their type is not supported.
  unsigned skipped() const { return m_skipped; }

 private:
  friend class ArchiveParser;

  ArchiveIndex();

  std::vector<Node> m_nodes;
  unsigned m_skipped = 0;
};

// A member name as tar extraction would place it: leading "/" dropped, empty
// and "." components dropped, ".." taking one back. "a/b" form, "" for the
// root itself; nullopt when ".." would climb above the root.
std::optional<std::string> normalize_member_path(std::string_view name);

}  // namespace atl::fs
