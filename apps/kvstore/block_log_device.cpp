// The log on a virtual disk (Atoll guest only): a WriteBehindDevice over
// blkfront, so the server never waits for the disk except where the log
// asks for a flush it must wait for (appendfsync always, compaction).
// LogDevice's block-aligned byte offsets are 512-byte sectors.
#include <stdint.h>

#include <algorithm>
#include <optional>

#include "blkfront.h"
#include "log_device.h"
#include "memory.h"
#include "write_behind.h"

namespace kv {

namespace {

// blkfront as the AsyncDisk under a WriteBehindDevice: one Request, submitted
// and reaped without blocking (poll) or with (wait).
class BlkAsyncDisk final : public AsyncDisk {
 public:
  explicit BlkAsyncDisk(atl::blk::BlkFront& disk) : m_disk(disk) {}
  ~BlkAsyncDisk() override {
    if (!m_req.done()) (void)m_disk.wait(m_req);  // blkfront still points at m_req
  }

  uint64_t capacity() const override { return m_disk.sectors() * LogDevice::kBlockSize; }

  bool read(uint64_t offset, void* buf, size_t len) override {
    return m_disk.read(offset / LogDevice::kBlockSize, buf, len / LogDevice::kBlockSize).ok();
  }

  bool start(Op op, uint64_t offset, const void* buf, size_t len) override {
    m_req = atl::blk::Request{};
    m_req.op = op == Op::kWrite ? atl::blk::Op::kWrite
               : op == Op::kWriteFlush ? atl::blk::Op::kWriteFlush
                                       : atl::blk::Op::kFlush;
    m_req.sector = op == Op::kFlush ? 0 : offset / LogDevice::kBlockSize;
    m_req.buf = const_cast<void*>(buf);  // only read: blkfront copies it into its granted pages
    m_req.sectors = op == Op::kFlush ? 0 : len / LogDevice::kBlockSize;
    return m_disk.submit(m_req).ok();
  }

  std::optional<bool> reap(bool wait) override {
    if (wait) return m_disk.wait(m_req).ok();
    m_disk.poll();
    if (!m_req.done()) return std::nullopt;
    return m_req.result().ok();
  }

  // A FLUSH_DISKCACHE carries 11 pages (INDIRECT wraps only reads and writes);
  // blkfront starts every request on a page boundary.
  size_t write_flush_limit() const override { return BLKIF_MAX_SEGMENTS_PER_REQUEST * 4096; }

 private:
  atl::blk::BlkFront& m_disk;
  atl::blk::Request m_req;  // done() until the first start()
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
  // The device keeps two buffers of the bound's size for its life: in a
  // small guest the bound is 1/32 of the heap, so together they take 1/16
  // (16 MiB of memory: 2 x 424 KiB), before maxmemory's default is cut
  // from the rest (main.cpp).
  uint64_t heap = mem::heap_figures().limit;
  size_t bound = static_cast<size_t>(std::clamp<uint64_t>(heap / 32, 256 * 1024, WriteBehindDevice::kDefaultBound));
  return std::make_unique<WriteBehindDevice>(std::make_unique<BlkAsyncDisk>(*disk), bound);
}

}  // namespace kv
