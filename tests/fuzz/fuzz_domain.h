// A whole Domain for the fuzz targets of hypercall arguments: built as any
// other (image, start_info, shared_info, reserved grants) but never started,
// its hypercalls served by Domain::hypercall_in_process, the same dispatch
// and checked accessor a guest process's hypercalls meet. The input plays the
// guest: it writes its memory and grant entries straight into the domain's
// memfds, as guest code would, and names them by guest address.
//
// A fresh domain per input (event channels, timers and grant pins are state
// a hypercall leaves behind), so an input replays alone.
#pragma once

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atoll/hosted_abi.h"
#include "domain.h"
#include "elf_builder.h"
#include "event_loop.h"
#include "fuzz_input.h"

namespace atl::fuzz {

class FuzzDomain {
 public:
  static constexpr uint64_t kMemory = 2ULL << 20;  // the image 1 MiB in, and a heap
  static constexpr uint64_t kPages = kMemory / hosted::kPageSize;
  // Where the inputs put hypercall arguments and data: guest pages clear of
  // the image.
  static constexpr uint64_t kArgsGpa = 0x180000;
  static constexpr uint64_t kDataGpa = 0x190000;
  static constexpr unsigned kDataPages = 16;
  static constexpr uint16_t kDomid = 1;

  FuzzDomain() {
    std::string error;
    m_domain = hv::Domain::try_create(loop(), config(), image(), kDomid, error);
    if (!m_domain) abort();
  }
  hv::Domain& domain() { return *m_domain; }

  // Host view of guest-physical `gpa`, `length` bytes, through the checked accessor.
  uint8_t* at(uint64_t gpa, uint64_t length = 1) {
    auto s = m_domain->memory().span(hosted::gpa_to_va(gpa), length);
    if (!s) abort();
    return s->data();
  }
  static uint64_t gva(uint64_t gpa) { return hosted::gpa_to_va(gpa); }

  std::optional<long> hypercall(unsigned op, uint64_t a1, uint64_t a2 = 0, uint64_t a3 = 0) {
    return m_domain->hypercall_in_process(op, {a1, a2, a3, 0, 0});
  }

 private:
  static hv::EventLoop& loop() {
    static hv::EventLoop l;
    return l;
  }
  static const hv::ElfImage& image() {
    static std::vector<uint8_t> bytes = hv::elf_builder::ImageBuilder::good().build();
    static std::optional<hv::ElfImage> img = [] {
      std::string error;
      auto i = hv::ElfImage::try_parse(bytes, error);
      if (!i) abort();
      return i;
    }();
    return *img;
  }
  static hv::DomainConfig config() {
    hv::DomainConfig c;
    c.name = "fuzz";
    c.memory = kMemory;
    return c;
  }

  std::unique_ptr<hv::Domain> m_domain;
};

// A target's script over a fresh domain: the input, the domain, and the
// entry point that runs one (Script::run()) per input.
class DomainScript {
 protected:
  explicit DomainScript(FuzzInput& in) : m_in(in) {}
  FuzzInput& m_in;
  FuzzDomain m_d;
};

template <typename Script>
int run_domain_script(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  Script script(in);
  script.run();
  return 0;
}

}  // namespace atl::fuzz
