// The manifest's text format: what users write for `atoll seal --manifest`,
// what sealed images carry, and every way a hostile one is refused.
#include <gtest/gtest.h>

#include "image/manifest.h"

namespace atl::hv::image {
namespace {

ManifestParse user(std::string_view text) { return parse_manifest(text, ManifestSource::kUser); }

TEST(Manifest, ReadsEveryUserKey) {
  auto p = user("# comment\nname kv-store_1.0\nmemory 64M\ncmdline --aof off --port 6379\nvifs 2\n"
                "publish 6379:6379\npublish 5353:53/udp\ndisk log rw required\ndisk site ro optional\n"
                "  disk scratch ephemeral=8M  \n\n");
  ASSERT_TRUE(p.manifest) << p.error.text();
  const Manifest& m = *p.manifest;
  EXPECT_EQ(m.name, "kv-store_1.0");
  EXPECT_EQ(m.memory, 64u << 20);
  EXPECT_EQ(m.cmdline, "--aof off --port 6379");
  EXPECT_EQ(m.vifs, 2u);
  ASSERT_EQ(m.publish.size(), 2u);
  EXPECT_EQ(m.publish[1].host_port, 5353);
  EXPECT_EQ(m.publish[1].guest_port, 53);
  EXPECT_TRUE(m.publish[1].udp);
  ASSERT_EQ(m.disks.size(), 3u);
  EXPECT_EQ(m.disks[0].need, DiskNeed::kRequired);
  EXPECT_FALSE(m.disks[0].read_only);
  EXPECT_EQ(m.disks[1].need, DiskNeed::kOptional);
  EXPECT_TRUE(m.disks[1].read_only);
  EXPECT_EQ(m.disks[2].need, DiskNeed::kEphemeral);
  EXPECT_EQ(m.disks[2].ephemeral_size, 8u << 20);
}

TEST(Manifest, FormatReadsBackTheSame) {
  auto p = user("name a\nmemory 1536K\ncmdline -x \"two words\"\nvifs 0\npublish 1:2\ndisk d ro\n");
  ASSERT_TRUE(p.manifest);
  std::string once = format_manifest(*p.manifest);
  auto again = user(once);
  ASSERT_TRUE(again.manifest) << again.error.text();
  EXPECT_EQ(format_manifest(*again.manifest), once);
  EXPECT_NE(once.find("memory 1536K\n"), std::string::npos);
}

TEST(Manifest, RequiredUnlessArgumentsReadsBack) {
  auto p = user("name kv\ndisk log rw required unless --aof off\n");
  ASSERT_TRUE(p.manifest) << p.error.text();
  const ManifestDisk& d = p.manifest->disks.at(0);
  EXPECT_EQ(d.need, DiskNeed::kRequired);
  EXPECT_EQ(d.unless, (std::vector<std::string>{"--aof", "off"}));
  EXPECT_EQ(format_manifest_disk(d), "log rw required unless --aof off");
}

TEST(Manifest, UnlessIsForRequiredDisksWithArguments) {
  auto bare = user("disk log rw unless\n");
  ASSERT_FALSE(bare.manifest);
  EXPECT_NE(bare.error.message.find("`unless` needs the guest arguments"), std::string::npos) << bare.error.message;
  auto optional = user("disk log optional unless --aof off\n");
  ASSERT_FALSE(optional.manifest);
  EXPECT_NE(optional.error.message.find("only a required disk"), std::string::npos) << optional.error.message;
}

TEST(Manifest, SealedKeysAreNotForUsers) {
  auto p = user("name a\nelf 64 10 " + std::string(64, '0') + "\n");
  ASSERT_FALSE(p.manifest);
  EXPECT_EQ(p.error.line, 2u);
  EXPECT_NE(p.error.message.find("written by atoll seal"), std::string::npos);
}

TEST(Manifest, SealedNeedsVersionAbiAndElf) {
  std::string elf = "elf 64 10 " + std::string(64, 'a') + "\n";
  EXPECT_FALSE(parse_manifest("xen-abi 0x00040e00\n" + elf, ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest("atoll-version 1\n" + elf, ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest("atoll-version 1\nxen-abi 0x00040e00\n", ManifestSource::kSealed).manifest);
  auto ok = parse_manifest("atoll-version 1\nxen-abi 0x00040e00\n" + elf, ManifestSource::kSealed);
  ASSERT_TRUE(ok.manifest) << ok.error.text();
  EXPECT_EQ(*ok.manifest->xen_abi, 0x00040e00u);
  EXPECT_EQ(ok.manifest->elf->offset, 64u);
}

struct Bad {
  const char* text;
  size_t line;
  const char* says;
};

class ManifestRefuses : public testing::TestWithParam<Bad> {};

TEST_P(ManifestRefuses, NamingTheLine) {
  auto p = user(GetParam().text);
  ASSERT_FALSE(p.manifest) << GetParam().text;
  EXPECT_EQ(p.error.line, GetParam().line) << p.error.text();
  EXPECT_NE(p.error.text().find(GetParam().says), std::string::npos) << p.error.text();
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, ManifestRefuses,
    testing::Values(Bad{"colour blue\n", 1, "unknown key `colour`"},
                    Bad{"name a\nname b\n", 2, "given twice"},
                    Bad{"name a b\n", 1, "name `a b`"},
                    Bad{"name ../etc\n", 1, "name `../etc`"},
                    Bad{"memory\n", 1, "has no value"},
                    Bad{"memory 0\n", 1, "memory takes a size"},
                    Bad{"memory 16T\n", 1, "memory takes a size"},
                    Bad{"memory 4097K\n", 1, "memory takes a size"},
                    Bad{"memory 99999999999999999999M\n", 1, "memory takes a size"},
                    Bad{"vifs 9\n", 1, "vifs takes a whole number from 0 to 8"},
                    Bad{"vifs -1\n", 1, "vifs takes"},
                    Bad{"publish 80\n", 1, "publish takes"},
                    Bad{"publish 0:80\n", 1, "publish takes"},
                    Bad{"publish 65536:80\n", 1, "publish takes"},
                    Bad{"publish 8080:80/sctp\n", 1, "publish takes"},
                    Bad{"disk\n", 1, "has no value"},
                    Bad{"disk log rw ro\n", 1, "contradicts"},
                    Bad{"disk log required optional\n", 1, "contradicts"},
                    Bad{"disk log sometimes\n", 1, "unknown word `sometimes`"},
                    Bad{"disk log ro ephemeral=8M\n", 1, "cannot be read-only"},
                    Bad{"disk log ephemeral=lots\n", 1, "ephemeral= takes"},
                    Bad{"name a\ncmdline x\x01y\n", 2, "control character"},
                    Bad{"name a\r\n", 1, "control character"},
                    Bad{"xen-abi 0x00040e00\n", 1, "written by atoll seal"}));

TEST(Manifest, RefusesTooManyRepeats) {
  std::string t;
  for (int i = 0; i < 17; ++i) t += "disk d" + std::to_string(i) + "\n";
  auto p = user(t);
  ASSERT_FALSE(p.manifest);
  EXPECT_EQ(p.error.line, 17u);
}

TEST(Manifest, RefusesOversizedText) {
  std::string t(kMaxManifestSize + 1, '#');
  auto p = user(t);
  ASSERT_FALSE(p.manifest);
  EXPECT_EQ(p.error.line, 0u);
}

TEST(Manifest, SealedPartsAreChecked) {
  std::string head = "atoll-version 1\nxen-abi 0x00040e00\n";
  EXPECT_FALSE(parse_manifest(head + "elf 64 10 abc\n", ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest(head + "elf -1 10 " + std::string(64, 'a') + "\n", ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest(head + "elf 64 10 " + std::string(64, 'g') + "\n", ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest(head + "elf 64 " + std::string(64, 'a') + "\n", ManifestSource::kSealed).manifest);
  EXPECT_FALSE(parse_manifest(head + "xen-abi 0x1\nelf 64 1 " + std::string(64, 'a') + "\n", ManifestSource::kSealed).manifest);
}

TEST(ManifestDisk, CommaFormFromSealFlags) {
  auto d = parse_manifest_disk("log rw ephemeral=64M");
  ASSERT_TRUE(d.disk) << d.error;
  EXPECT_EQ(format_manifest_disk(*d.disk), "log rw ephemeral=64M");
}

}  // namespace
}  // namespace atl::hv::image
