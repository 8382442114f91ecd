// Opened images the daemon keeps while domains use them. A fleet boots the
// same image again and again (many copies of one appliance, every restart),
// and opening it (reading, checking, parsing the ELF and its symbols) was a
// fifth of the daemon's time per create (perf, bench/RESULTS.md). An entry
// is keyed by the file's identity (device, inode, size, mtime), so a rebuilt
// image is read again, and held weakly: it goes when no domain uses it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "run_spec.h"

namespace atl::hv {

class ImageCache {
 public:
  using Opened = RunChecked<std::shared_ptr<const LoadedImage>>;

  // The image at `path`: the one already open if the file is still the same,
  // else what `open` makes of it (kept for the next time if it succeeds).
  Opened open(const std::string& path, const std::function<Opened()>& open);

 private:
  // path, device, inode, size, mtime (s, ns)
  using Key = std::tuple<std::string, dev_t, ino_t, off_t, time_t, long>;
  std::map<Key, std::weak_ptr<const LoadedImage>> m_images;
};

}  // namespace atl::hv
