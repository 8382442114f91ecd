// `atoll seal --archive DIR`: the directory packed as ustar, deterministically,
// and read back by the guest's own archive reader (libc-glue/fs).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "archive_index.h"
#include "block_source.h"
#include "image/ustar_pack.h"

namespace atl::hv::image {
namespace {

class UstarPackTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/atoll-pack-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    m_dir = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + m_dir + "'").c_str()); }

  void write(const std::string& rel, const std::string& text, mode_t mode = 0600) {
    std::ofstream(m_dir + "/" + rel) << text;
    chmod((m_dir + "/" + rel).c_str(), mode);
  }

  std::string m_dir;
};

TEST_F(UstarPackTest, TreeReadsBackThroughTheGuestReader) {
  std::string deep = "a-directory-name-long-enough-to-need-the-prefix-field-of-ustar-headers-0123456789";
  ASSERT_EQ(mkdir((m_dir + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((m_dir + "/sub/" + deep).c_str(), 0700), 0);
  write("index.html", "<p>hi</p>\n");
  write("run.sh", "#!/bin/sh\n", 0700);
  write("sub/" + deep + "/file-with-a-long-name-as-well-0123456789.txt", std::string(3000, 'x'));
  ASSERT_EQ(symlink("index.html", (m_dir + "/link").c_str()), 0);

  PackResult r = pack_directory(m_dir, 0);
  ASSERT_TRUE(r.archive) << r.error;
  EXPECT_EQ(check_archive(*r.archive), "");
  EXPECT_EQ(r.archive->size() % 512, 0u);

  fs::MemorySource source(r.archive->data(), r.archive->size());
  auto index = fs::ArchiveIndex::try_parse(source);
  ASSERT_TRUE(index.ok());
  auto file = index.value().find("sub/" + deep + "/file-with-a-long-name-as-well-0123456789.txt");
  ASSERT_TRUE(file);
  EXPECT_EQ(index.value().node(*file).size, 3000u);
  auto script = index.value().find("run.sh");
  ASSERT_TRUE(script);
  EXPECT_EQ(index.value().node(*script).mode, 0755u);
  auto page = index.value().find("index.html");
  ASSERT_TRUE(page);
  EXPECT_EQ(index.value().node(*page).mode, 0644u);
  auto link = index.value().find("link");
  ASSERT_TRUE(link);
  EXPECT_EQ(index.value().node(*link).link_target, "index.html");
}

TEST_F(UstarPackTest, SameTreeSameBytesWhateverTheFileTimes) {
  write("b", "2");
  write("a", "1");
  PackResult first = pack_directory(m_dir, 0);
  ASSERT_TRUE(first.archive);
  sleep(1);
  write("a", "1");  // rewritten: a newer mtime, the same contents
  PackResult second = pack_directory(m_dir, 0);
  ASSERT_TRUE(second.archive);
  EXPECT_EQ(*first.archive, *second.archive);
  PackResult dated = pack_directory(m_dir, 1700000000);
  EXPECT_NE(*first.archive, *dated.archive);
}

TEST_F(UstarPackTest, NameTooLongIsRefused) {
  std::string name(120, 'n');  // no '/' to split at
  write(name, "x");
  PackResult r = pack_directory(m_dir, 0);
  EXPECT_FALSE(r.archive);
  EXPECT_NE(r.error.find("name too long"), std::string::npos) << r.error;
}

TEST_F(UstarPackTest, NotADirectory) {
  PackResult r = pack_directory(m_dir + "/missing", 0);
  EXPECT_FALSE(r.archive);
  EXPECT_NE(r.error.find("is not a directory"), std::string::npos);
}

TEST(CheckArchive, RefusesWhatTheGuestWouldNotMount) {
  std::vector<uint8_t> junk(1024, 'j');
  EXPECT_NE(check_archive(junk), "");
}

}  // namespace
}  // namespace atl::hv::image
