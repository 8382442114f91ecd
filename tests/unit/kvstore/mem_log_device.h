// An in-memory LogDevice for the log's tests. It journals every write and
// flush, so a test can rebuild what a disk might hold after a power cut at
// any point: everything flushed, plus any subset of the 512-byte blocks
// written since the last flush (a disk's volatile cache may keep or lose
// each one), plus a byte prefix of the write in flight.
#pragma once

#include <string.h>

#include <cstdint>
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "aof.h"
#include "commands.h"
#include "keyspace.h"
#include "log_device.h"
#include "timeutil.h"
#include "values.h"

namespace kv::test {

class MemLogDevice final : public LogDevice {
 public:
  struct Op {
    bool flush = false;
    uint64_t offset = 0;
    std::vector<uint8_t> bytes;
  };

  explicit MemLogDevice(uint64_t capacity) : m_data(capacity, 0) {}
  explicit MemLogDevice(std::vector<uint8_t> image) : m_data(std::move(image)) {}

  uint64_t capacity() const override { return m_data.size(); }

  bool read(uint64_t offset, void* buf, size_t len) override {
    if (!ok(offset, len)) return false;
    memcpy(buf, m_data.data() + offset, len);
    return true;
  }

  bool write(uint64_t offset, const void* buf, size_t len) override {
    if (!ok(offset, len) || m_writes_left == 0) return false;
    if (m_writes_left > 0) --m_writes_left;
    const auto* p = static_cast<const uint8_t*>(buf);
    m_ops.push_back({false, offset, std::vector<uint8_t>(p, p + len)});
    memcpy(m_data.data() + offset, buf, len);
    ++writes;
    return true;
  }

  bool flush() override {
    m_ops.push_back({true, 0, {}});
    ++flushes;
    return true;
  }

  std::vector<uint8_t>& data() { return m_data; }
  const std::vector<Op>& ops() const { return m_ops; }
  void clear_ops() { m_ops.clear(); }
  // Writes fail (return false) after `n` more succeed; -1: never.
  void fail_writes_after(int n) { m_writes_left = n; }

  int writes = 0;
  int flushes = 0;

 private:
  bool ok(uint64_t offset, size_t len) const {
    return block_aligned(offset, len) && offset <= m_data.size() && len <= m_data.size() - offset;
  }

  std::vector<uint8_t> m_data;
  std::vector<Op> m_ops;
  int m_writes_left = -1;
};

enum class Cache { kAllKept, kAllLost, kRandom };

// The disk after a crash once ops[0, k) were issued, from `base` (durable
// when the journal started). Unflushed writes keep blocks per `cache`
// (kRandom: each with probability 1/2 from `seed`); `torn` bytes of ops[k],
// if it is a write, land too.
inline std::vector<uint8_t> crash_image(const std::vector<uint8_t>& base, const std::vector<MemLogDevice::Op>& ops,
                                        size_t k, Cache cache, unsigned seed, size_t torn = 0) {
  std::vector<uint8_t> img = base;
  size_t last_flush = 0;  // ops before it are durable
  for (size_t i = 0; i < k; ++i)
    if (ops[i].flush) last_flush = i + 1;
  std::mt19937 rng(seed);
  for (size_t i = 0; i < k; ++i) {
    const auto& op = ops[i];
    if (op.flush) continue;
    for (size_t at = 0; at < op.bytes.size(); at += LogDevice::kBlockSize) {
      bool keep = i < last_flush || cache == Cache::kAllKept || (cache == Cache::kRandom && (rng() & 1));
      if (keep) memcpy(img.data() + op.offset + at, op.bytes.data() + at, LogDevice::kBlockSize);
    }
  }
  if (k < ops.size() && !ops[k].flush && torn > 0) {
    size_t n = std::min(torn, ops[k].bytes.size());
    memcpy(img.data() + ops[k].offset, ops[k].bytes.data(), n);
  }
  return img;
}

// The disk a crash right now leaves, every unflushed block lost: what a
// reply sent now may rely on.
inline std::vector<uint8_t> image_after_crash(const MemLogDevice& dev) {
  return crash_image(std::vector<uint8_t>(dev.capacity(), 0), dev.ops(), dev.ops().size(), Cache::kAllLost, 0);
}

// A key space's contents, for comparing states.
using State = std::map<std::string, std::pair<std::string, int64_t>>;

// A value as text: a string as it is; an aggregate as its type and its
// elements in a fixed order.
inline std::string value_text(const Entry& e) {
  std::vector<std::string> parts;
  switch (e.type()) {
    case ValueType::kString: return std::string(e.str());
    case ValueType::kList:
      for (size_t i = 0; i < e.as<ListValue>().size(); ++i) parts.push_back(e.as<ListValue>().at(i));
      break;
    case ValueType::kHash:
      for (const auto& [f, v] : e.as<HashValue>().fields()) parts.push_back(f + "=" + v);
      std::sort(parts.begin(), parts.end());
      break;
    case ValueType::kSet:
      parts.assign(e.as<SetValue>().members().begin(), e.as<SetValue>().members().end());
      std::sort(parts.begin(), parts.end());
      break;
    case ValueType::kZSet:
      for (const auto& [score, m] : e.as<ZSetValue>().order()) parts.push_back(m + "@" + double_to_string(score));
      break;
  }
  std::string text = std::string(type_name(e.type())) + ":";
  for (const auto& p : parts) text += p + ",";
  return text;
}

inline State state_of(const Keyspace& keys) {
  State s;
  int64_t now = realtime_ms();
  keys.for_each([&](const Entry& e) {
    if (!Keyspace::expired(e, now)) s[std::string(e.key())] = {value_text(e), e.expire_at()};
  });
  return s;
}

// A server without sockets: a key space, a dispatcher and a log on `dev`.
struct Node {
  explicit Node(LogDevice& dev, FsyncPolicy fsync = FsyncPolicy::kAlways, uint64_t compact_min = UINT64_MAX / 4)
      : aof(dev, Aof::Settings{fsync, compact_min}) {}

  Aof::Status open() {
    Aof::Status s = aof.open(dispatcher);
    if (s == Aof::Status::kOk) dispatcher.attach_log(&aof);
    return s;
  }
  std::string run(std::vector<std::string> argv) {
    std::string out;
    dispatcher.execute(client, argv, out, realtime_ms());
    return out;
  }
  Aof::Status commit() { return aof.commit(keys, realtime_ms()); }
  State state() const { return state_of(keys); }

  Config config;
  ServerStats stats;
  Keyspace keys;
  Dispatcher dispatcher{keys, config, stats};
  ClientState client;
  Aof aof;
};

// Boots a log image and returns the replayed state (`status` and `report`
// say how the open went).
inline State reboot(std::vector<uint8_t> image, Aof::Status* status = nullptr, RecoveryReport* report = nullptr) {
  MemLogDevice dev(std::move(image));
  Node node(dev);
  Aof::Status s = node.open();
  if (status) *status = s;
  if (report) *report = node.aof.recovery();
  return node.state();
}

}  // namespace kv::test
