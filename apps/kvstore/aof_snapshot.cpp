// Compaction's snapshot: every live key written as commands into the other
// region. Strings without a time go in MSET batches, strings with one as
// SET key value PXAT ms; lists, hashes, sets and sorted sets as RPUSH, HSET,
// SADD and ZADD batches, then PEXPIREAT for those with a time.
#include <deque>
#include <initializer_list>
#include <string_view>

#include "aof.h"
#include "numbers.h"
#include "values.h"

namespace kv {

using logfmt::kBlock;

namespace {

constexpr size_t kChunk = 256 * 1024;     // snapshot bytes per device write
constexpr size_t kBatchBytes = 64 * 1024;  // payload of one batch record
constexpr size_t kBatchArgs = 2048;

// Streams snapshot records into a region in chunks of whole blocks.
class SnapshotWriter {
 public:
  SnapshotWriter(LogDevice& dev, uint64_t offset, uint64_t size, uint32_t generation, uint32_t epoch)
      : m_dev(dev), m_offset(offset), m_size(size), m_generation(generation), m_epoch(epoch) {}

  template <typename Range>
  Aof::Status add(const Range& args) {
    size_t start = logfmt::begin_record(m_buf);
    append_command(m_buf, args);
    logfmt::end_record(m_buf, start, m_generation, m_epoch);
    if (m_written + m_buf.size() > m_size) return Aof::Status::kTooBig;
    if (m_buf.size() < kChunk) return Aof::Status::kOk;
    size_t n = m_buf.size() / kBlock * kBlock;
    if (!m_dev.write(m_offset + m_written, m_buf.data(), n)) return Aof::Status::kIoError;
    m_buf.erase(0, n);
    m_written += n;
    return Aof::Status::kOk;
  }

  uint64_t written() const { return m_written; }
  std::string& rest() { return m_buf; }

 private:
  LogDevice& m_dev;
  uint64_t m_offset;
  uint64_t m_size;
  uint32_t m_generation;
  uint32_t m_epoch;
  uint64_t m_written = 0;  // region offset of m_buf[0]
  std::string m_buf;
};

// One command with a growing tail of arguments ("MSET", or "RPUSH key"),
// written as a record whenever it gets big and restarted with its head.
class Batch {
 public:
  Batch(SnapshotWriter& out, std::initializer_list<std::string_view> head) : m_out(out), m_head(head.size()) {
    m_args.assign(head.begin(), head.end());
  }
  Aof::Status add(std::string_view a) {
    m_args.push_back(a);
    m_bytes += a.size();
    return m_bytes >= kBatchBytes || m_args.size() >= kBatchArgs ? flush() : Aof::Status::kOk;
  }
  Aof::Status add(std::string_view a, std::string_view b) {
    m_args.push_back(a);
    m_bytes += a.size();
    return add(b);
  }
  // For arguments made here (scores): they live until the batch is written.
  std::string_view keep(std::string s) { return m_kept.emplace_back(std::move(s)); }
  Aof::Status flush() {
    Aof::Status s = m_args.size() == m_head ? Aof::Status::kOk : m_out.add(m_args);
    m_args.resize(m_head);
    m_kept.clear();
    m_bytes = 0;
    return s;
  }

 private:
  SnapshotWriter& m_out;
  size_t m_head;
  std::vector<std::string_view> m_args;
  std::deque<std::string> m_kept;  // stable addresses, unlike a vector's small strings
  size_t m_bytes = 0;
};

Aof::Status write_object(SnapshotWriter& out, const Entry& e) {
  Aof::Status s = Aof::Status::kOk;
  auto each = [&s](auto&& fn) { return s == Aof::Status::kOk ? (s = fn()) : s; };
  switch (e.type()) {
    case ValueType::kList: {
      Batch b(out, {"RPUSH", e.key()});
      const auto& list = e.as<ListValue>();
      for (size_t i = 0; i < list.size(); ++i) each([&] { return b.add(list.at(i)); });
      return each([&] { return b.flush(); });
    }
    case ValueType::kHash: {
      Batch b(out, {"HSET", e.key()});
      // Bindings are captured by init-capture: clang 14 (the fuzz build) cannot capture them directly.
      for (const auto& [f, v] : e.as<HashValue>().fields()) each([&b, &f = f, &v = v] { return b.add(f, v); });
      return each([&] { return b.flush(); });
    }
    case ValueType::kSet: {
      Batch b(out, {"SADD", e.key()});
      for (const auto& m : e.as<SetValue>().members()) each([&] { return b.add(m); });
      return each([&] { return b.flush(); });
    }
    case ValueType::kZSet: {
      Batch b(out, {"ZADD", e.key()});
      for (const auto& [score, m] : e.as<ZSetValue>().order())
        each([&b, &score = score, &m = m] { return b.add(b.keep(double_to_string(score)), m); });
      return each([&] { return b.flush(); });
    }
    case ValueType::kString: break;
  }
  return s;
}

}  // namespace

// Writes every live key into region next.active, in generation
// next.generation, and flushes. `end` is the new log's length and `tail`
// its last partial block.
Aof::Status Aof::write_snapshot(const Keyspace& keys, int64_t now_ms, const logfmt::Superblock& next, uint64_t& end,
                                std::string& tail) {
  SnapshotWriter out(m_dev, next.region_offset[next.active], next.region_size, next.generation, m_sb.epoch);
  Batch strings(out, {"MSET"});
  Status s = Status::kOk;
  keys.for_each([&](const Entry& e) {
    if (s != Status::kOk || Keyspace::expired(e, now_ms)) return;
    std::string at = e.has_expiry() ? int_to_string(e.expire_at()) : std::string();
    if (e.type() == ValueType::kString && !e.has_expiry()) {
      s = strings.add(e.key(), e.str());
    } else if (e.type() == ValueType::kString) {
      s = out.add(std::initializer_list<std::string_view>{"SET", e.key(), e.str(), "PXAT", at});
    } else {
      s = write_object(out, e);
      if (s == Status::kOk && e.has_expiry())
        s = out.add(std::initializer_list<std::string_view>{"PEXPIREAT", e.key(), at});
    }
  });
  if (s == Status::kOk) s = strings.flush();
  if (s != Status::kOk) return s;
  std::string& rest = out.rest();
  if (!write_padded(next.active, out.written(), rest) || !m_dev.flush_async()) return Status::kIoError;
  end = out.written() + rest.size();
  size_t keep = end % kBlock;
  tail.assign(rest, rest.size() - keep, keep);
  return Status::kOk;
}

}  // namespace kv
