// libFuzzer target for the guest image parser (hypervisor/elf_image.cpp): the
// ELF header, program headers, the Atoll platform note, and the symbol table
// the crash reports symbolize with. Whatever try_parse accepts must describe
// segments the domain builder can load: inside the image window, page-aligned
// where it must be, their file bytes inside the file.
//
// Seeds: gen_elf_corpus.py.
#include <cstdlib>
#include <string>

#include "atoll/hosted_abi.h"
#include "elf_image.h"

namespace atl::hv {
namespace {

void check(const ElfImage& image, size_t size) {
  for (const ImageSegment& s : image.segments()) {
    if (s.file_offset > size || s.file_size > size - s.file_offset) std::abort();
    if (s.file_size > s.mem_size) std::abort();
    if ((s.prot & hosted::kProtWrite) && (s.prot & hosted::kProtExec)) std::abort();  // W^X
    if (s.vaddr < hosted::gpa_to_va(hosted::kImageGpa) || s.mem_size > image.end() || s.vaddr > image.end() - s.mem_size) std::abort();
    // Symbolizing any address in a segment must not trip over the symbol table.
    (void)image.symbolize(s.vaddr);
    (void)image.symbolize(s.vaddr + s.mem_size / 2);
  }
  (void)image.symbolize(image.entry());
  (void)image.defines("atoll_wants_network");
}

}  // namespace
}  // namespace atl::hv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto image = atl::hv::ElfImage::try_parse({data, size}, error);
  if (image) atl::hv::check(*image, size);
  else if (error.empty()) std::abort();  // every refusal says why
  return 0;
}
