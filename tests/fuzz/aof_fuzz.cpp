// libFuzzer target for kvstore's log recovery (apps/kvstore/aof_recovery.cpp):
// superblock selection, replay of the active region's records (each a RESP
// command, parsed again), and cutting a torn tail. The input builds a device
// image the way a crash could leave one, then recovery runs on it twice. The
// second run must replay exactly what the first did and find nothing more to
// cut: recovery leaves a clean log behind, and a reboot loses no record.
//
// The input is a script. Byte 0: bit 0 blank device (the format path), bit 1
// the active region, bits 2-3 the epoch; byte 1 the superblock's seq. Then
// ops, op & 3:
//   0  a sealed record holding a command: arg count, then length + bytes each
//   1  a sealed record of raw payload: length, bytes
//   2  raw bytes (a torn write): length, bytes
//   3  skip: a 16-bit distance forward
// Bit 2 of ops 0-1 seals with a stale generation; bits 3-4 pick the epoch.
//
// Seeds: gen_app_corpus.py.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aof.h"
#include "fuzz_input.h"
#include "log_format.h"

namespace kv {
namespace {

using atl::fuzz::FuzzInput;

class MemoryDevice final : public LogDevice {
 public:
  explicit MemoryDevice(std::vector<uint8_t>& bytes) : m_bytes(bytes) {}
  uint64_t capacity() const override { return m_bytes.size(); }
  bool read(uint64_t offset, void* buf, size_t len) override {
    if (offset > m_bytes.size() || len > m_bytes.size() - offset) std::abort();  // recovery read outside the device
    std::memcpy(buf, m_bytes.data() + offset, len);
    return true;
  }
  bool write(uint64_t offset, const void* buf, size_t len) override {
    if (offset > m_bytes.size() || len > m_bytes.size() - offset) std::abort();
    std::memcpy(m_bytes.data() + offset, buf, len);
    return true;
  }
  bool flush() override { return true; }

 private:
  std::vector<uint8_t>& m_bytes;
};

class Recorder final : public ReplayTarget {
 public:
  void apply(std::vector<std::string>& argv) override {
    if (argv.empty()) std::abort();
    commands.push_back(argv);
  }
  std::vector<std::vector<std::string>> commands;
};

constexpr uint32_t kGeneration = 7;

// Builds the device in `dev`, kept from one input to the next and zeroed
// here: a fresh 136 KiB vector an input had its pages mapped and faulted in
// anew by ASan's allocator (1.1 ms of CPU an input; 0.26 ms now).
void build_device(FuzzInput& in, std::vector<uint8_t>& dev) {
  dev.assign(logfmt::kMinCapacity, 0);
  uint8_t mode = in.byte();
  uint8_t seq = in.byte();
  if (mode & 1) return;
  auto sb = logfmt::make_layout(dev.size());
  if (!sb) std::abort();
  sb->active = (mode >> 1) & 1;
  sb->epoch = (mode >> 2) & 3;
  sb->seq = seq;
  sb->generation = kGeneration;
  logfmt::encode_superblock(*sb, dev.data() + logfmt::kSlotOffset[sb->slot()]);

  uint64_t region = sb->active_offset(), pos = 0;
  auto put = [&](const std::string& bytes) {
    size_t n = std::min<uint64_t>(bytes.size(), sb->region_size - pos);
    std::memcpy(dev.data() + region + pos, bytes.data(), n);
    pos += n;
  };
  while (!in.empty() && pos < sb->region_size) {
    uint8_t op = in.byte();
    std::string record;
    switch (op & 3) {
      case 0: {
        unsigned argc = in.byte() % 4 + 1;
        std::string payload = "*" + std::to_string(argc) + "\r\n";
        for (unsigned i = 0; i < argc; ++i) {
          auto arg = in.take(in.byte());
          payload += "$" + std::to_string(arg.size()) + "\r\n";
          payload.append(reinterpret_cast<const char*>(arg.data()), arg.size());
          payload += "\r\n";
        }
        size_t start = logfmt::begin_record(record);
        record += payload;
        logfmt::end_record(record, start, (op & 4) ? kGeneration - 1 : kGeneration, (op >> 3) & 3);
        break;
      }
      case 1: {
        auto raw = in.take(in.byte());
        size_t start = logfmt::begin_record(record);
        record.append(reinterpret_cast<const char*>(raw.data()), raw.size());
        logfmt::end_record(record, start, (op & 4) ? kGeneration - 1 : kGeneration, (op >> 3) & 3);
        break;
      }
      case 2: {
        auto raw = in.take(in.byte());
        record.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
        break;
      }
      default:
        pos = std::min<uint64_t>(sb->region_size, pos + in.u16());
        break;
    }
    put(record);
  }
}

void run(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  static std::vector<uint8_t> bytes;
  build_device(in, bytes);
  MemoryDevice dev(bytes);
  Recorder first, second;
  Aof::Settings settings;
  {
    Aof aof(dev, settings);
    if (aof.open(first) != Aof::Status::kOk) return;  // a foreign device is left alone
    if (aof.recovery().records != first.commands.size()) std::abort();
  }
  Aof again(dev, settings);
  if (again.open(second) != Aof::Status::kOk) std::abort();
  if (second.commands != first.commands) std::abort();        // a record lost or gained on reboot
  if (again.recovery().dropped_bytes != 0) std::abort();      // the first recovery left a torn tail
}

}  // namespace
}  // namespace kv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kv::run(data, size);
  return 0;
}
