// The archive walk: what it builds from good archives (ustar, GNU long names,
// pax), how duplicates and dot-dot behave, and that every kind of broken
// archive is refused with kInval and a log line naming the offset.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archive_index.h"
#include "block_source.h"
#include "ustar_writer.h"

using namespace atl;
using namespace atl::fs;
using atl::fs::testing::TarWriter;

namespace {

struct Parsed {
  Result<ArchiveIndex> index;
  std::vector<std::string> log;
  std::vector<uint8_t> bytes;

  const Node* at(std::string_view path) const {
    if (!index.ok()) return nullptr;
    auto id = index->find(path);
    return id ? &index->node(*id) : nullptr;
  }
  std::string content(std::string_view path) const {
    const Node* n = at(path);
    if (!n || n->type != NodeType::kFile) return "<none>";
    return std::string(reinterpret_cast<const char*>(bytes.data()) + n->data_offset, n->size);
  }
  bool logged(std::string_view text) const {
    for (auto& line : log) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

Parsed parse(std::vector<uint8_t> bytes, ParseOptions options = {}) {
  std::vector<std::string> log;
  options.log = [&log](const char* line) { log.emplace_back(line); };
  MemorySource source(bytes.data(), bytes.size());
  auto index = ArchiveIndex::try_parse(source, options);
  return {std::move(index), std::move(log), std::move(bytes)};
}

Parsed parse(TarWriter& w, ParseOptions options = {}) { return parse(w.bytes(), std::move(options)); }

}  // namespace

TEST(ArchiveIndex, FilesDirectoriesAndSymlinks) {
  TarWriter w;
  w.dir("site/");
  w.file("site/index.html", "<h1>hi</h1>\n");
  w.dir("site/img/");
  w.file("site/img/logo.png", std::string(1000, 'x'));
  w.symlink("site/home.html", "index.html");
  w.file("empty", "");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.index->node_count(), 7u);  // root + 6
  EXPECT_EQ(p.at("site")->type, NodeType::kDirectory);
  EXPECT_EQ(p.at("site")->mode, 0755u);
  EXPECT_EQ(p.content("site/index.html"), "<h1>hi</h1>\n");
  EXPECT_EQ(p.content("site/img/logo.png"), std::string(1000, 'x'));
  EXPECT_EQ(p.at("site/img/logo.png")->mtime, 1700000000);
  EXPECT_EQ(p.at("site/img/logo.png")->mode, 0644u);
  EXPECT_EQ(p.at("site/home.html")->type, NodeType::kSymlink);
  EXPECT_EQ(p.at("site/home.html")->link_target, "index.html");
  EXPECT_EQ(p.content("empty"), "");
  EXPECT_FALSE(p.at("site/missing"));
  EXPECT_FALSE(p.at("empty/below"));
  // Children are sorted by name.
  std::vector<std::string> names;
  for (auto& [name, id] : p.at("site")->children) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"home.html", "img", "index.html"}));
}

TEST(ArchiveIndex, DirectoriesImplicitFromFilePaths) {
  TarWriter w;
  w.file("a/b/c/deep.txt", "deep");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  for (const char* dir : {"a", "a/b", "a/b/c"}) {
    ASSERT_TRUE(p.at(dir)) << dir;
    EXPECT_EQ(p.at(dir)->type, NodeType::kDirectory) << dir;
  }
  EXPECT_EQ(p.content("a/b/c/deep.txt"), "deep");
  EXPECT_EQ(p.at("a/b")->parent, *p.index->find("a"));
}

TEST(ArchiveIndex, DotSlashNamesAndTheRootEntry) {
  TarWriter w;
  w.dir("./");
  w.file("./x/./y.txt", "y");
  w.file("/abs/z.txt", "z");  // a leading slash is dropped, as tar does
  w.file("q/../r.txt", "r");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content("x/y.txt"), "y");
  EXPECT_EQ(p.content("abs/z.txt"), "z");
  EXPECT_EQ(p.content("r.txt"), "r");
  EXPECT_FALSE(p.at("q"));  // ".." is resolved in the name, before anything is made
}

TEST(ArchiveIndex, DotDotEscapeIsRefused) {
  for (const char* evil : {"../etc/passwd", "a/../../b", "./..", "/.."}) {
    TarWriter w;
    w.file("ok.txt", "fine");
    size_t at = w.file(evil, "evil");
    w.end();
    Parsed p = parse(w);
    ASSERT_FALSE(p.index.ok()) << evil;
    EXPECT_EQ(p.index.error(), Errno::kInval);
    EXPECT_TRUE(p.logged("escapes the archive root")) << evil;
    EXPECT_TRUE(p.logged("offset " + std::to_string(at))) << evil;
  }
}

TEST(ArchiveIndex, NormalizeMemberPath) {
  EXPECT_EQ(normalize_member_path("a//b/./c/"), "a/b/c");
  EXPECT_EQ(normalize_member_path("./"), "");
  EXPECT_EQ(normalize_member_path("a/b/../../c"), "c");
  EXPECT_FALSE(normalize_member_path("a/../.."));
}

TEST(ArchiveIndex, GnuLongNames) {
  std::string dir(200, 'd');
  std::string name = dir + "/" + std::string(250, 'f');
  TarWriter w;
  w.long_name(name);
  w.header(name.substr(0, 100), ustar::kRegular, 5, {}, TarWriter::Magic::kGnu);
  w.data("12345");
  w.file("after", "next");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content(name), "12345");
  EXPECT_EQ(p.content("after"), "next");  // the long name applied to one entry only
  EXPECT_EQ(p.index->node_count(), 4u);
}

TEST(ArchiveIndex, PosixPrefixField) {
  TarWriter w;
  w.header("file.txt", ustar::kRegular, 2, {}, TarWriter::Magic::kPosix, "long/prefix/dir");
  w.data("ok");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content("long/prefix/dir/file.txt"), "ok");
}

TEST(ArchiveIndex, PaxPathSizeAndMtime) {
  std::string name = std::string(120, 'p') + "/file";
  TarWriter w;
  w.pax({{"path", name}, {"size", "11"}, {"mtime", "1234567890.5"}, {"comment", "ignored"}});
  w.header("short-name", ustar::kRegular, 0);  // size 0 here: pax's size wins
  w.data("pax content");
  w.pax({{"path", "link"}, {"linkpath", std::string(150, 't')}});
  w.header("x", ustar::kSymlink, 0, "short");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content(name), "pax content");
  EXPECT_EQ(p.at(name)->mtime, 1234567890);
  EXPECT_FALSE(p.at("short-name"));
  EXPECT_EQ(p.at("link")->link_target, std::string(150, 't'));
}

TEST(ArchiveIndex, PaxGlobalHeaderIsSkipped) {
  TarWriter w;
  w.pax({{"path", "global-should-not-apply"}}, ustar::kPaxGlobal);
  w.file("real.txt", "r");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content("real.txt"), "r");
  EXPECT_FALSE(p.at("global-should-not-apply"));
}

TEST(ArchiveIndex, LaterEntryWins) {
  TarWriter w;
  w.file("f", "first");
  w.file("f", "second");
  w.file("d/child", "c");
  w.dir("d/");  // a directory over a directory keeps its children
  w.file("t/inner", "gone");
  w.file("t", "now a file");  // a file over a directory drops the subtree
  w.file("g", "was a file");
  w.file("g/below", "g is a directory now");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.content("f"), "second");
  EXPECT_EQ(p.content("d/child"), "c");
  EXPECT_EQ(p.content("t"), "now a file");
  EXPECT_FALSE(p.at("t/inner"));
  EXPECT_EQ(p.at("g")->type, NodeType::kDirectory);
  EXPECT_EQ(p.content("g/below"), "g is a directory now");
}

TEST(ArchiveIndex, UnsupportedTypesAreSkippedWithALogLine) {
  TarWriter w;
  w.header("hard", ustar::kHardLink, 0, "target");
  w.header("fifo", ustar::kFifo, 0);
  w.header("tty", ustar::kCharDev, 0);
  w.header("volume", 'V', 0);
  size_t sparse = w.header("odd", 'S', 5);  // unknown types keep their data
  w.data("sssss");
  w.file("kept", "k");
  w.end();
  Parsed p = parse(w);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.index->skipped(), 5u);
  EXPECT_EQ(p.log.size(), 5u);
  EXPECT_TRUE(p.logged("'hard' at offset 0: hard link"));
  EXPECT_TRUE(p.logged("fifo"));
  EXPECT_TRUE(p.logged("character device"));
  EXPECT_TRUE(p.logged("offset " + std::to_string(sparse)));
  EXPECT_FALSE(p.at("hard"));
  EXPECT_EQ(p.content("kept"), "k");
}

TEST(ArchiveIndex, BadChecksumIsRefused) {
  TarWriter w;
  w.file("a", "a");
  size_t at = w.file("b", "b");
  w.end();
  w.header_at(at).name[0] = 'c';  // no reseal
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_EQ(p.index.error(), Errno::kInval);
  EXPECT_TRUE(p.logged("bad header checksum"));
  EXPECT_TRUE(p.logged("offset " + std::to_string(at)));
}

TEST(ArchiveIndex, BadMagicIsRefused) {
  TarWriter w;
  size_t at = w.file("a", "a");
  memcpy(w.header_at(at).magic, "nope!", 6);
  w.seal(at);
  w.end();
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_TRUE(p.logged("bad magic"));
}

TEST(ArchiveIndex, TruncatedArchivesAreRefused) {
  TarWriter w;
  w.file("small", "s");
  w.file("big", std::string(5000, 'b'));
  w.end();
  const std::vector<uint8_t> whole = w.bytes();
  ASSERT_TRUE(parse(whole).index.ok());
  // Cut inside big's data, inside a header, and right before the end blocks.
  for (size_t cut : {size_t{1024 + 512 + 2048}, size_t{1024 + 100}, whole.size() - 1024, size_t{0}}) {
    Parsed p = parse(std::vector<uint8_t>(whole.begin(), whole.begin() + cut));
    ASSERT_FALSE(p.index.ok()) << cut;
    EXPECT_EQ(p.index.error(), Errno::kInval) << cut;
    EXPECT_FALSE(p.log.empty()) << cut;
  }
}

TEST(ArchiveIndex, SizeBeyondTheEndIsRefused) {
  TarWriter w;
  size_t at = w.header("huge", ustar::kRegular, uint64_t{1} << 33);
  w.data("only a little");
  w.end();
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_TRUE(p.logged("runs past the end"));
  EXPECT_TRUE(p.logged("offset " + std::to_string(at)));
}

TEST(ArchiveIndex, PaxSizeBeyondTheEndIsRefused) {
  TarWriter w;
  w.pax({{"size", "18446744073709551615"}});
  w.file("f", "x");
  w.end();
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_EQ(p.index.error(), Errno::kInval);
}

TEST(ArchiveIndex, AbsurdNumericFieldsAreRefused) {
  struct Case {
    const char* what;
    size_t offset;  // within the header
    std::string bytes;
  };
  const Case cases[] = {
      {"size", offsetof(ustar::Header, size), "0000000001z"},
      {"size", offsetof(ustar::Header, size), std::string("\0\0\0\0\0\0\0\0\0\0\0\0", 12)},
      {"mode", offsetof(ustar::Header, mode), "0000999"},
      {"mtime", offsetof(ustar::Header, mtime), "12345 67012"},
      {"size", offsetof(ustar::Header, size), std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12)},
  };
  for (const Case& c : cases) {
    TarWriter w;
    size_t at = w.file("f", "");
    memcpy(&w.bytes()[at + c.offset], c.bytes.data(), c.bytes.size());
    w.seal(at);
    w.end();
    Parsed p = parse(w);
    ASSERT_FALSE(p.index.ok()) << c.what;
    EXPECT_EQ(p.index.error(), Errno::kInval) << c.what;
    EXPECT_TRUE(p.logged("bad " + std::string(c.what))) << c.what << ": " << (p.log.empty() ? "" : p.log[0]);
  }
}

TEST(ArchiveIndex, BadChecksumFieldIsRefused) {
  TarWriter w;
  size_t at = w.file("f", "x");
  memcpy(w.header_at(at).chksum, "12z4567", 7);
  w.end();
  EXPECT_FALSE(parse(w).index.ok());
}

TEST(ArchiveIndex, NameComponentOver255BytesIsRefused) {
  TarWriter w;
  w.long_name(std::string(256, 'n'));
  w.header("n", ustar::kRegular, 0, {}, TarWriter::Magic::kGnu);
  w.end();
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_TRUE(p.logged("longer than 255"));
}

TEST(ArchiveIndex, MalformedPaxIsRefused) {
  TarWriter w;
  w.pax_raw("99 path=x\n");
  w.file("f", "x");
  w.end();
  Parsed p = parse(w);
  ASSERT_FALSE(p.index.ok());
  EXPECT_TRUE(p.logged("malformed pax"));
}

TEST(ArchiveIndex, ExtendedHeaderWithoutEntryIsRefused) {
  TarWriter w;
  w.pax({{"path", "dangling"}});
  w.end();
  EXPECT_FALSE(parse(w).index.ok());
}

TEST(ArchiveIndex, NulInPaxPathIsRefused) {
  TarWriter w;
  w.pax({{"path", std::string("a\0b", 3)}});
  w.file("f", "x");
  w.end();
  EXPECT_FALSE(parse(w).index.ok());
}

TEST(ArchiveIndex, FileNamingTheRootIsRefused) {
  TarWriter w;
  w.file("./", "x");
  w.end();
  // "./" with type '0' and a trailing slash is a directory (old tars): fine.
  EXPECT_TRUE(parse(w).index.ok());
  TarWriter v;
  v.header(".", ustar::kRegular, 0);
  v.end();
  EXPECT_FALSE(parse(v).index.ok());
}

TEST(ArchiveIndex, NodeLimit) {
  TarWriter w;
  for (int i = 0; i < 20; ++i) w.file("f" + std::to_string(i), "x");
  w.end();
  ParseOptions options;
  options.max_nodes = 10;
  Parsed p = parse(w, options);
  ASSERT_FALSE(p.index.ok());
  EXPECT_EQ(p.index.error(), Errno::kNoMem);
}

TEST(ArchiveIndex, LooksLikeArchive) {
  TarWriter w;
  w.file("f", "x");
  w.end();
  MemorySource good(w.bytes().data(), w.bytes().size());
  EXPECT_TRUE(ArchiveIndex::looks_like_archive(good));
  std::vector<uint8_t> zeros(4096);
  MemorySource empty(zeros.data(), zeros.size());
  EXPECT_FALSE(ArchiveIndex::looks_like_archive(empty));
  MemorySource tiny(zeros.data(), 100);
  EXPECT_FALSE(ArchiveIndex::looks_like_archive(tiny));
}

TEST(ArchiveIndex, AllZeroSourceIsAnEmptyArchive) {
  std::vector<uint8_t> zeros(10240);
  Parsed p = parse(zeros);
  ASSERT_TRUE(p.index.ok());
  EXPECT_EQ(p.index->node_count(), 1u);
}

TEST(ArchiveIndex, GarbageAfterTheEndIsIgnored) {
  TarWriter w;
  w.file("f", "x");
  w.end();
  w.bytes().resize(w.bytes().size() + 4096, 0xAB);
  EXPECT_TRUE(parse(w).index.ok());
}
