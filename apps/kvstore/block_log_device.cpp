// BlockLogDevice (Atoll guest only): the log on a virtual disk through
// blkfront. LogDevice's block-aligned byte offsets are 512-byte sectors.
#include <stdint.h>

#include <vector>

#include "blkfront.h"
#include "log_device.h"

namespace kv {

namespace {

class BlockLogDevice final : public LogDevice {
 public:
  explicit BlockLogDevice(atl::blk::BlkFront& disk) : m_disk(disk) {}
  ~BlockLogDevice() override { (void)settle(); }

  uint64_t capacity() const override { return m_disk.sectors() * kBlockSize; }

  bool read(uint64_t offset, void* buf, size_t len) override {
    if (!in_range(offset, len) || !settle()) return false;
    return len == 0 || m_disk.read(offset / kBlockSize, buf, len / kBlockSize).ok();
  }

  // Write-behind: the write is queued on the ring and the server goes on
  // serving while it travels, as a write() into Linux's page cache would let
  // redis-server go on. At most one is out at a time, because the log rewrites
  // its partial last block and two writes of it must not pass each other; a
  // failure is reported by the next call. flush() waits for it first, so
  // `appendfsync always` still answers only after the data is stable.
  bool write(uint64_t offset, const void* buf, size_t len) override {
    if (!in_range(offset, len) || !settle()) return false;
    if (len == 0) return true;
    const auto* bytes = static_cast<const uint8_t*>(buf);
    m_buffer.assign(bytes, bytes + len);
    m_write = atl::blk::Request{};
    m_write.op = atl::blk::Op::kWrite;
    m_write.sector = offset / kBlockSize;
    m_write.buf = m_buffer.data();
    m_write.sectors = len / kBlockSize;
    return m_disk.submit(m_write).ok();
  }

  bool flush() override { return settle() && m_disk.flush().ok(); }

 private:
  bool in_range(uint64_t offset, size_t len) const {
    return block_aligned(offset, len) && offset <= capacity() && len <= capacity() - offset;
  }
  // Waits for the write in flight, if any; false when it failed.
  bool settle() {
    if (!m_write.done()) return m_disk.wait(m_write).ok();
    return m_write.result().ok();
  }

  atl::blk::BlkFront& m_disk;
  atl::blk::Request m_write;  // done() until the first write
  std::vector<uint8_t> m_buffer;
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
