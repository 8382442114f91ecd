// The sealed image format against hostile files: every truncation, every
// flipped byte, manifests that lie about their parts, foreign ABIs and formats,
// and signatures that are missing, forged or over other bytes.
#include <gtest/gtest.h>

#include <cstring>

#include "image_forge.h"
#include "image/sealed_image.h"

namespace atl::hv::image {
namespace {

using forge::bytes_of;

class SealedImageTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto_ready());
    m_manifest.name = "demo";
    m_manifest.memory = 32u << 20;
    m_manifest.publish.push_back({8080, 80, false});
    m_manifest.disks.push_back({"log", false, DiskNeed::kRequired, 0});
    m_image = seal_image(m_manifest, m_elf, m_archive);
  }

  ImageOpen open(const std::vector<uint8_t>& bytes) { return SealedImage::try_open(bytes); }

  void expect_fault(const std::vector<uint8_t>& bytes, ImageFault fault, const char* says = "") {
    auto r = open(bytes);
    ASSERT_FALSE(r.image) << "accepted";
    EXPECT_EQ(r.error.fault, fault) << to_string(r.error.fault) << ": " << r.error.message;
    EXPECT_NE(r.error.message.find(says), std::string::npos) << r.error.message;
  }

  size_t elf_offset() const { return kHeaderSize + forge::manifest_text_of(m_image).size(); }
  size_t archive_offset() const { return elf_offset() + m_elf.size(); }

  Manifest m_manifest;
  std::vector<uint8_t> m_elf = bytes_of("\x7f" "ELF pretend code and data");
  std::vector<uint8_t> m_archive = bytes_of(std::string(1024, 'A'));
  std::vector<uint8_t> m_image;
};

TEST_F(SealedImageTest, RoundTrip) {
  auto r = open(m_image);
  ASSERT_TRUE(r.image) << r.error.message;
  const SealedImage& img = *r.image;
  EXPECT_EQ(std::vector<uint8_t>(img.elf().begin(), img.elf().end()), m_elf);
  EXPECT_EQ(std::vector<uint8_t>(img.archive().begin(), img.archive().end()), m_archive);
  EXPECT_EQ(img.manifest().name, "demo");
  EXPECT_EQ(img.manifest().memory, 32u << 20);
  EXPECT_EQ(*img.manifest().xen_abi, kXenAbi);
  EXPECT_FALSE(img.is_signed());
  EXPECT_EQ(img.image_size(), m_image.size());
  EXPECT_EQ(img.digest(), sha256({m_image.data(), kHeaderSize + img.manifest_size()}));
}

TEST_F(SealedImageTest, WithoutArchive) {
  auto bytes = seal_image(m_manifest, m_elf, {});
  auto r = open(bytes);
  ASSERT_TRUE(r.image) << r.error.message;
  EXPECT_TRUE(r.image->archive().empty());
  EXPECT_FALSE(r.image->manifest().archive);
}

TEST_F(SealedImageTest, SameInputsSameBytes) {
  EXPECT_EQ(seal_image(m_manifest, m_elf, m_archive), m_image);
}

TEST_F(SealedImageTest, EmptyAndStrangers) {
  expect_fault({}, ImageFault::kEmpty);
  expect_fault(bytes_of("#!/bin/sh\necho hi\n"), ImageFault::kNotAnImage, "not an ELF and not a sealed Atoll image");
  std::vector<uint8_t> random(4096);
  uint32_t x = 12345;
  for (auto& b : random) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  expect_fault(random, ImageFault::kNotAnImage);
}

TEST_F(SealedImageTest, EveryTruncationIsRefusedAsTruncated) {
  for (size_t len = 1; len < m_image.size(); ++len) {
    std::vector<uint8_t> cut(m_image.begin(), m_image.begin() + len);
    auto r = open(cut);
    ASSERT_FALSE(r.image) << "accepted at " << len;
    EXPECT_EQ(r.error.fault, ImageFault::kTruncated) << len << ": " << r.error.message;
  }
}

TEST_F(SealedImageTest, TrailingBytesAreRefused) {
  auto longer = m_image;
  longer.push_back(0);
  expect_fault(longer, ImageFault::kTrailingBytes);
}

TEST_F(SealedImageTest, EveryFlippedByteIsRefused) {
  for (size_t i = 0; i < m_image.size(); ++i) {
    auto bad = m_image;
    bad[i] ^= 0x01;
    auto r = open(bad);
    ASSERT_FALSE(r.image) << "accepted with byte " << i << " flipped";
  }
}

TEST_F(SealedImageTest, AFlippedByteSaysWhichPart) {
  auto flip = [&](size_t at) {
    auto bad = m_image;
    bad[at] ^= 0x40;
    return bad;
  };
  expect_fault(flip(kHeaderSize + 10), ImageFault::kDigestMismatch, "header or manifest");
  expect_fault(flip(elf_offset() + 3), ImageFault::kElfChanged, "ELF part");
  expect_fault(flip(archive_offset() + 700), ImageFault::kArchiveChanged, "archive part");
  expect_fault(flip(m_image.size() - kTrailerSize + 5), ImageFault::kDigestMismatch);
  expect_fault(flip(m_image.size() - 1), ImageFault::kBadTrailer);
  expect_fault(flip(m_image.size() - 20), ImageFault::kBadTrailer, "unsigned but holds");
  expect_fault(flip(offsetof(ImageHeader, format)), ImageFault::kUnknownFormat, "format");
  expect_fault(flip(offsetof(ImageHeader, reserved) + 3), ImageFault::kBadHeader);
  expect_fault(flip(offsetof(ImageHeader, image_size) + 7), ImageFault::kTruncated, "header says");
  expect_fault(flip(offsetof(ImageHeader, manifest_size) + 7), ImageFault::kBadHeader);
}

TEST_F(SealedImageTest, ManifestLyingAboutTheElfSize) {
  std::string text = forge::manifest_text_of(m_image);
  const ManifestPart elf = *parse_manifest(text, ManifestSource::kSealed).manifest->elf;
  std::string lie = forge::replace_line(text, "elf", "elf " + std::to_string(elf.offset) + " " +
                                                         std::to_string(elf.size + 1) + " " + to_hex(elf.sha256));
  // The lie changes the manifest's length, so the offsets no longer line up either way.
  expect_fault(forge::assemble(lie, forge::parts_of(m_image)), ImageFault::kPartLayout, "part table");
}

TEST_F(SealedImageTest, ManifestLyingAboutOffsets) {
  // Keep the text's length so only the lie differs: swap digits within a line.
  std::string text = forge::manifest_text_of(m_image);
  auto m = *parse_manifest(text, ManifestSource::kSealed).manifest;
  auto with = [&](const ManifestPart& elf, const std::optional<ManifestPart>& ar) {
    Manifest copy = m;
    copy.elf = elf;
    copy.archive = ar;
    return format_manifest(copy);
  };
  // A manifest whose parts are right for its own length: the control case.
  auto settle = [&](ManifestPart elf, std::optional<ManifestPart> ar, int64_t elf_shift, int64_t ar_shift,
                    int64_t elf_grow, int64_t ar_grow) {
    std::string t;
    for (int i = 0; i < 4; ++i) {
      ManifestPart e = elf;
      e.offset = kHeaderSize + t.size() + elf_shift;
      e.size = elf.size + elf_grow;
      std::optional<ManifestPart> a = ar;
      if (a) {
        a->offset = kHeaderSize + t.size() + elf.size + ar_shift;
        a->size = ar->size + ar_grow;
      }
      t = with(e, a);
    }
    return forge::assemble(t, forge::parts_of(m_image));
  };
  ASSERT_TRUE(open(settle(*m.elf, m.archive, 0, 0, 0, 0)).image);
  expect_fault(settle(*m.elf, m.archive, 1, 0, 0, 0), ImageFault::kPartLayout, "ELF is said to start");
  expect_fault(settle(*m.elf, m.archive, 0, -1, 0, 0), ImageFault::kPartLayout, "archive is said to start");
  expect_fault(settle(*m.elf, m.archive, 0, 0, 0, 1), ImageFault::kPartLayout, "past the parts' end");
  expect_fault(settle(*m.elf, m.archive, 0, 0, 0, -1), ImageFault::kPartLayout, "trailer starts");
  expect_fault(settle(*m.elf, std::nullopt, 0, 0, 0, 0), ImageFault::kPartLayout, "trailer starts");
  expect_fault(settle(*m.elf, m.archive, 0, 0, -static_cast<int64_t>(m_elf.size()), 0), ImageFault::kPartLayout, "empty");
  ManifestPart huge = *m.elf;
  huge.size = UINT64_MAX - 10;
  expect_fault(settle(huge, m.archive, 0, 0, 0, 0), ImageFault::kPartLayout, "past the parts' end");
}

TEST_F(SealedImageTest, ForeignAbiIsRefused) {
  std::string text = forge::manifest_text_of(m_image);
  std::string other = forge::replace_line(text, "xen-abi", "xen-abi 0x00050000");
  expect_fault(forge::assemble(other, forge::parts_of(m_image)), ImageFault::kUnknownAbi, "built for Xen ABI 0x00050000");
}

TEST_F(SealedImageTest, ForeignFormatIsRefused) {
  auto bad = m_image;
  uint32_t two = 2;
  std::memcpy(bad.data() + offsetof(ImageHeader, format), &two, sizeof two);
  expect_fault(bad, ImageFault::kUnknownFormat, "format 2");
}

TEST_F(SealedImageTest, ManifestThatDoesNotParse) {
  std::string text = forge::manifest_text_of(m_image) + "colour blue\n";
  expect_fault(forge::assemble(text, forge::parts_of(m_image)), ImageFault::kBadManifest, "unknown key `colour`");
}

class SignedImageTest : public SealedImageTest {
 protected:
  std::vector<uint8_t> signed_with(const std::vector<uint8_t>& image, const SecretKey& key) {
    auto r = open(image);
    EXPECT_TRUE(r.image);
    auto tail = signed_trailer_tail(r.image->digest(), key);
    auto out = image;
    std::memcpy(out.data() + out.size() - kTrailerSize + kTrailerSignedOffset, tail.data(), tail.size());
    return out;
  }
  KeyPair m_keys = generate_keypair();
};

TEST_F(SignedImageTest, GoodSignatureVerifies) {
  auto r = open(signed_with(m_image, m_keys.secret_key));
  ASSERT_TRUE(r.image) << r.error.message;
  ASSERT_TRUE(r.image->is_signed());
  EXPECT_EQ(*r.image->signer(), m_keys.public_key);
}

TEST_F(SignedImageTest, FlippedSignatureOrKeyIsRefused) {
  auto good = signed_with(m_image, m_keys.secret_key);
  for (size_t at : {m_image.size() - 9, m_image.size() - 100, m_image.size() - kTrailerSize + 40}) {
    auto bad = good;
    bad[at] ^= 1;
    expect_fault(bad, ImageFault::kBadSignature, "does not verify");
  }
}

TEST_F(SignedImageTest, SignatureOverOtherBytesIsRefused) {
  Manifest other = m_manifest;
  other.name = "other";
  auto donor = signed_with(seal_image(other, m_elf, m_archive), m_keys.secret_key);
  auto transplanted = m_image;
  std::memcpy(transplanted.data() + transplanted.size() - kTrailerSize + kTrailerSignedOffset,
              donor.data() + donor.size() - kTrailerSize + kTrailerSignedOffset, kTrailerSize - kTrailerSignedOffset);
  expect_fault(transplanted, ImageFault::kBadSignature);
}

TEST_F(SignedImageTest, ChangedPartUnderASignatureIsRefused) {
  auto good = signed_with(m_image, m_keys.secret_key);
  good[elf_offset()] ^= 1;
  expect_fault(good, ImageFault::kElfChanged);
}

TEST(ImageCrypto, SecretKeyHalvesMustAgree) {
  ASSERT_TRUE(crypto_ready());
  KeyPair k = generate_keypair();
  EXPECT_TRUE(secret_key_consistent(k.secret_key));
  EXPECT_EQ(public_key_of(k.secret_key), k.public_key);
  k.secret_key[40] ^= 1;
  EXPECT_FALSE(secret_key_consistent(k.secret_key));
}

TEST(ImageCrypto, HexRoundTrip) {
  std::array<uint8_t, 4> b{};
  EXPECT_TRUE(from_hex("00ff7A1b", b));
  EXPECT_EQ(to_hex(b), "00ff7a1b");
  EXPECT_FALSE(from_hex("00ff7A1", b));
  EXPECT_FALSE(from_hex("00ff7A1g", b));
}

TEST(ImageCrypto, Sha256KnownAnswer) {
  // FIPS 180-2's "abc".
  EXPECT_EQ(to_hex(sha256(bytes_of("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace atl::hv::image
