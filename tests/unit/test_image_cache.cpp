// ImageCache (hypervisor/image_cache.h): an image is opened once while it is
// in use, opened again when its file changes or nobody holds it any more, and
// a failure to open is never kept.
#include "image_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace atl::hv {
namespace {

class ImageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/atoll-image-cache-XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    m_path = name;
    rewrite("first");
  }
  void TearDown() override { unlink(m_path.c_str()); }

  void rewrite(const char* text) { std::ofstream(m_path) << text; }

  // What resolve_run would open: here a fresh, empty image, counted.
  ImageCache::Opened open(ImageCache& cache) {
    return cache.open(m_path, [this]() -> ImageCache::Opened {
      ++m_opens;
      return std::shared_ptr<const LoadedImage>(std::make_shared<LoadedImage>());
    });
  }

  std::string m_path;
  int m_opens = 0;
};

TEST_F(ImageCacheTest, OpensOnceWhileInUse) {
  ImageCache cache;
  auto a = open(cache);
  auto b = open(cache);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value(), b.value());
  EXPECT_EQ(m_opens, 1);
}

TEST_F(ImageCacheTest, OpensAgainWhenNobodyHoldsIt) {
  ImageCache cache;
  { auto a = open(cache); }
  auto b = open(cache);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(m_opens, 2);
}

TEST_F(ImageCacheTest, OpensAgainWhenTheFileChanges) {
  ImageCache cache;
  auto a = open(cache);
  rewrite("second, longer");  // a new size, whatever the clock's resolution
  auto b = open(cache);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value(), b.value());
  EXPECT_EQ(m_opens, 2);
}

TEST_F(ImageCacheTest, AFailureIsNotKept) {
  ImageCache cache;
  int failures = 0;
  auto failing = [&]() -> ImageCache::Opened {
    ++failures;
    return RunError{"not an image"};
  };
  EXPECT_FALSE(cache.open(m_path, failing).ok());
  EXPECT_FALSE(cache.open(m_path, failing).ok());
  EXPECT_EQ(failures, 2);
  EXPECT_TRUE(open(cache).ok());
}

TEST_F(ImageCacheTest, AMissingFileGivesTheOpenersError) {
  ImageCache cache;
  auto r = cache.open("/nonexistent/image", [] { return ImageCache::Opened(RunError{"cannot open image"}); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "cannot open image");
}

}  // namespace
}  // namespace atl::hv
