// libFuzzer target for the read-only archive file system's reader
// (libc-glue/fs/archive_index.cpp, ustar.cpp): ustar, GNU long names and pax
// headers, walked into a tree of nodes. The archive reaches a guest on a disk
// the user supplies and `atoll seal` checks it with the same reader, so every
// byte is untrusted. Whatever the reader accepts must be a tree whose names
// are single components, whose files' data lies inside the archive, and whose
// every node is found again by its path.
//
// Seeds: small archives made by gen_tar_corpus.py.
#include <cstdlib>
#include <string>

#include "archive_index.h"
#include "block_source.h"

namespace atl::fs {
namespace {

std::string path_of(const ArchiveIndex& index, NodeId id) {
  std::string path;
  while (id != kRootNode) {
    const Node& n = index.node(id);
    path = path.empty() ? n.name : n.name + "/" + path;
    id = n.parent;
  }
  return path;
}

void check(const ArchiveIndex& index, uint64_t size) {
  if (index.node_count() == 0 || index.node(kRootNode).type != NodeType::kDirectory) std::abort();
  for (uint32_t i = 1; i < index.node_count(); ++i) {
    NodeId id{i};
    const Node& n = index.node(id);
    if (n.name.empty() || n.name == "." || n.name == ".." || n.name.find('/') != std::string::npos ||
        n.name.size() > ArchiveIndex::kMaxNameComponent)
      std::abort();
    if (n.type == NodeType::kFile && (n.data_offset > size || n.size > size - n.data_offset)) std::abort();
    if (index_of(n.parent) >= index.node_count() || index.node(n.parent).type != NodeType::kDirectory) std::abort();
    // A node replaced by a later entry of the same name is no longer linked.
    auto child = index.child(n.parent, n.name);
    if (!child || *child != id) continue;
    auto found = index.find(path_of(index, id));
    if (!found || *found != id) std::abort();
  }
}

}  // namespace
}  // namespace atl::fs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atl::fs;
  MemorySource source(data, size);
  ParseOptions options;
  options.max_nodes = 512;
  options.max_meta = 64 * 1024;
  auto index = ArchiveIndex::try_parse(source, options);
  if (index.ok()) check(*index, size);
  return 0;
}
