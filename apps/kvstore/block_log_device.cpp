// BlockLogDevice (Atoll guest only): the log on a virtual disk through
// blkfront. LogDevice's block-aligned byte offsets are 512-byte sectors;
// blkfront bounces a buffer that is not sector-aligned in memory itself.
#include "blkfront.h"
#include "log_device.h"

namespace kv {

namespace {

class BlockLogDevice final : public LogDevice {
 public:
  explicit BlockLogDevice(atl::blk::BlkFront& disk) : m_disk(disk) {}

  uint64_t capacity() const override { return m_disk.sectors() * kBlockSize; }

  bool read(uint64_t offset, void* buf, size_t len) override {
    if (!in_range(offset, len)) return false;
    return len == 0 || m_disk.read(offset / kBlockSize, buf, len / kBlockSize).ok();
  }

  bool write(uint64_t offset, const void* buf, size_t len) override {
    if (!in_range(offset, len)) return false;
    return len == 0 || m_disk.write(offset / kBlockSize, buf, len / kBlockSize).ok();
  }

  bool flush() override { return m_disk.flush().ok(); }

 private:
  bool in_range(uint64_t offset, size_t len) const {
    return block_aligned(offset, len) && offset <= capacity() && len <= capacity() - offset;
  }

  atl::blk::BlkFront& m_disk;
};

}  // namespace

std::unique_ptr<LogDevice> try_open_block_log_device(std::string& error) {
  auto found = atl::blk::probe();
  atl::blk::BlkFront* disk = found.ok() && *found > 0 ? atl::blk::device(0) : nullptr;
  if (!disk || !disk->connected()) {
    error = "the append-only log needs a disk (atoll run --disk FILE); use --aof off to run without one";
    return nullptr;
  }
  if (disk->read_only()) {
    error = "the disk is read-only; the append-only log needs a writable one";
    return nullptr;
  }
  // blkif.h gives a backend without feature-flush-cache no way to say when
  // writes are stable, so the log could promise nothing (Atoll's blkback has it).
  if (!disk->has_flush()) {
    error = "the disk cannot flush (no feature-flush-cache); the append-only log needs it";
    return nullptr;
  }
  return std::make_unique<BlockLogDevice>(*disk);
}

}  // namespace kv
