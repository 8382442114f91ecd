#include "image_cache.h"

#include <sys/stat.h>

namespace atl::hv {

ImageCache::Opened ImageCache::open(const std::string& path, const std::function<Opened()>& open) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return open();  // its error is the one to report
  Key key{path, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  if (auto it = m_images.find(key); it != m_images.end())
    if (auto image = it->second.lock()) return image;
  Opened opened = open();
  if (!opened.ok()) return opened;
  std::erase_if(m_images, [](const auto& entry) { return entry.second.expired(); });
  m_images[key] = opened.value();
  return opened;
}

}  // namespace atl::hv
