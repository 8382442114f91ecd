// Archives written by the real tar (Debian's GNU tar) in its three formats,
// read back through the block cache the guest uses for disks. Skips when
// there is no tar.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "archive_index.h"
#include "block_source.h"

using namespace atl;
using namespace atl::fs;

namespace {

class FileDevice final : public SectorDevice {
 public:
  explicit FileDevice(std::vector<uint8_t> bytes) : m_bytes(std::move(bytes)) {}
  uint64_t sectors() const override { return m_bytes.size() / kSectorSize; }
  Result<void> read_sectors(uint64_t sector, void* buf, size_t count) override {
    if (sector + count > sectors()) return Errno::kRange;
    memcpy(buf, m_bytes.data() + sector * kSectorSize, count * kSectorSize);
    return {};
  }

 private:
  std::vector<uint8_t> m_bytes;
};

class RealTar : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (system("tar --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no tar on this machine";
    char tmpl[] = "/tmp/atoll-fs-test-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    m_dir = tmpl;
  }
  void TearDown() override {
    if (!m_dir.empty()) {
      EXPECT_EQ(system(("rm -rf '" + m_dir + "'").c_str()), 0);
    }
  }

  void put(const std::string& rel, const std::string& content) {
    std::string path = m_dir + "/tree/" + rel;
    EXPECT_EQ(system(("mkdir -p \"$(dirname '" + path + "')\"").c_str()), 0);
    std::ofstream(path, std::ios::binary) << content;
    m_files[rel] = content;
  }

  std::vector<uint8_t> make_tar(const char* format) {
    std::string tar = m_dir + "/out.tar";
    std::string cmd = "tar --format=" + std::string(format) + " -C '" + m_dir + "/tree' -cf '" + tar + "' .";
    EXPECT_EQ(system(cmd.c_str()), 0) << cmd;
    std::ifstream in(tar, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  std::string m_dir;
  std::map<std::string, std::string> m_files;
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

}  // namespace

TEST_P(RealTar, EveryFileReadsBackThroughTheCache) {
  const std::string format = GetParam();
  put("hello.txt", "hello, archive\n");
  put("dir/a.txt", "a");
  put("dir/sub/b.bin", pattern(70000));
  put("empty.txt", "");
  // ustar splits long paths at a slash into prefix and name; gnu and pax use
  // 'L' records and pax path= for what does not fit.
  put(std::string(90, 'p') + "/" + std::string(90, 'q') + "/file.txt", "prefixed");
  if (format != "ustar") put("long/" + std::string(200, 'L') + ".txt", "long name");
  ASSERT_EQ(symlink("hello.txt", (m_dir + "/tree/link").c_str()), 0);
  ASSERT_EQ(mkdir((m_dir + "/tree/empty-dir").c_str(), 0755), 0);

  FileDevice device(make_tar(format.c_str()));
  CachedSource source(device, 8);
  std::vector<std::string> log;
  ParseOptions options;
  options.log = [&log](const char* line) { log.emplace_back(line); };
  auto index = ArchiveIndex::try_parse(source, options);
  ASSERT_TRUE(index.ok()) << (log.empty() ? "" : log.back());
  EXPECT_TRUE(log.empty());

  for (auto& [path, content] : m_files) {
    auto id = index->find(path);
    ASSERT_TRUE(id) << path;
    const Node& n = index->node(*id);
    ASSERT_EQ(n.type, NodeType::kFile) << path;
    ASSERT_EQ(n.size, content.size()) << path;
    std::string got(n.size, '\0');
    ASSERT_TRUE(source.read(n.data_offset, got.data(), got.size()).ok());
    EXPECT_EQ(got, content) << path;
  }
  auto link = index->find("link");
  ASSERT_TRUE(link);
  EXPECT_EQ(index->node(*link).type, NodeType::kSymlink);
  EXPECT_EQ(index->node(*link).link_target, "hello.txt");
  auto empty_dir = index->find("empty-dir");
  ASSERT_TRUE(empty_dir);
  EXPECT_EQ(index->node(*empty_dir).type, NodeType::kDirectory);
}

INSTANTIATE_TEST_SUITE_P(Formats, RealTar, ::testing::Values("ustar", "gnu", "pax"));
