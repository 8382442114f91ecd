#include "elf_image.h"

#include <elf.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace atl::hv {
namespace {

using hosted::kPageSize;

bool range_ok(uint64_t offset, uint64_t size, uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

template <typename T>
bool read_at(std::span<const uint8_t> bytes, uint64_t offset, T& out) {
  if (!range_ok(offset, sizeof(T), bytes.size())) return false;
  std::memcpy(&out, bytes.data() + offset, sizeof(T));
  return true;
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint32_t prot_of(uint32_t flags) {
  uint32_t prot = 0;
  if (flags & PF_R) prot |= hosted::kProtRead;
  if (flags & PF_W) prot |= hosted::kProtWrite;
  if (flags & PF_X) prot |= hosted::kProtExec;
  return prot;
}

// The Atoll platform note ("Atoll", type 1): its descriptor names the platform
// the image was linked for ("hosted", "xen"); empty if the segment has none.
std::string platform_note(std::span<const uint8_t> bytes, const Elf64_Phdr& ph) {
  uint64_t off = ph.p_offset, end = ph.p_offset + ph.p_filesz;
  while (off + sizeof(Elf64_Nhdr) <= end) {
    Elf64_Nhdr nh;
    if (!read_at(bytes, off, nh)) return {};
    // Round up in 64 bits: in 32, a size near 4 GiB wraps to 0.
    uint64_t name_off = off + sizeof nh;
    uint64_t desc_off = name_off + ((uint64_t{nh.n_namesz} + 3) & ~3ULL);
    uint64_t next = desc_off + ((uint64_t{nh.n_descsz} + 3) & ~3ULL);
    if (next > end || next <= off) return {};
    if (nh.n_namesz == 6 && nh.n_type == 1 && nh.n_descsz > 0 && nh.n_descsz <= 16 &&
        std::memcmp(bytes.data() + name_off, "Atoll", 6) == 0) {
      const char* desc = reinterpret_cast<const char*>(bytes.data() + desc_off);
      return std::string(desc, strnlen(desc, nh.n_descsz));
    }
    off = next;
  }
  return {};
}

// "kv::Keyspace::set(...)" for "_ZN2kv8Keyspace3setE...": names are demangled
// only when a backtrace needs them, not for every symbol at load. A name that is
// not a C++ mangling (C functions, a hostile image's junk) stays as it is.
std::string demangle(const std::string& name) {
  if (name.rfind("_Z", 0) != 0) return name;
  int status = 0;
  char* text = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string out = status == 0 && text ? text : name;
  free(text);
  return out;
}

}  // namespace

std::optional<ElfImage> ElfImage::try_parse(std::span<const uint8_t> bytes, std::string& error) {
  Elf64_Ehdr eh;
  if (!read_at(bytes, 0, eh)) {
    error = "file is too small to be an ELF image (" + std::to_string(bytes.size()) + " bytes)";
    return std::nullopt;
  }
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) { error = "not an ELF file (bad magic)"; return std::nullopt; }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
    error = "not a 64-bit little-endian x86-64 ELF";
    return std::nullopt;
  }
  if (eh.e_type != ET_EXEC) { error = "not a static executable (ELF type " + std::to_string(eh.e_type) + ")"; return std::nullopt; }
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      !range_ok(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), bytes.size())) {
    error = "program header table is missing or truncated";
    return std::nullopt;
  }

  ElfImage image;
  image.m_bytes = bytes;
  image.m_entry = eh.e_entry;
  // The platform first: an image linked for another platform (a Xen PVH image
  // sits at 1 MiB) would otherwise fail on its addresses, with a less useful message.
  std::string platform;
  for (unsigned i = 0; i < eh.e_phnum && platform.empty(); ++i) {
    Elf64_Phdr ph;
    read_at(bytes, eh.e_phoff + uint64_t{i} * sizeof ph, ph);
    if (ph.p_type == PT_NOTE && range_ok(ph.p_offset, ph.p_filesz, bytes.size())) platform = platform_note(bytes, ph);
  }
  if (platform == "xen") {
    error = "this is a Xen PVH image (platform note \"xen\"): boot it on Xen with `xl create` (type=\"pvh\"), "
            "not with `atoll run`; the hosted image of the same appliance is the one without .xen";
    return std::nullopt;
  }
  if (platform != "hosted") {
    error = "no Atoll hosted-platform note: this image was not linked for `atoll run`";
    return std::nullopt;
  }
  const uint64_t lowest = hosted::gpa_to_va(hosted::kImageGpa);
  const uint64_t highest = hosted::gpa_to_va(hosted::kMaxMemory);
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    read_at(bytes, eh.e_phoff + uint64_t{i} * sizeof ph, ph);
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    std::string which = "segment " + std::to_string(i) + " at " + hex(ph.p_vaddr);
    if (!range_ok(ph.p_offset, ph.p_filesz, bytes.size())) {
      error = which + " extends past the end of the file (truncated image?)";
      return std::nullopt;
    }
    if (ph.p_filesz > ph.p_memsz) { error = which + " has more file bytes than memory bytes"; return std::nullopt; }
    if (ph.p_vaddr < lowest || !range_ok(ph.p_vaddr, ph.p_memsz, highest)) {
      error = which + " lies outside guest memory (images are linked at " + hex(lowest) + ")";
      return std::nullopt;
    }
    if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X)) {
      error = which + " is both writable and executable (W^X)";
      return std::nullopt;
    }
    if (ph.p_vaddr % kPageSize != ph.p_offset % kPageSize) {
      error = which + " is not page-congruent with its file offset";
      return std::nullopt;
    }
    image.m_segments.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, prot_of(ph.p_flags)});
  }
  if (image.m_segments.empty()) { error = "no loadable segments"; return std::nullopt; }

  // Protections are per page, so segments may not share a page.
  auto& segs = image.m_segments;
  std::sort(segs.begin(), segs.end(), [](auto& a, auto& b) { return a.vaddr < b.vaddr; });
  for (size_t i = 1; i < segs.size(); ++i) {
    uint64_t prev_end = (segs[i - 1].vaddr + segs[i - 1].mem_size + kPageSize - 1) & ~(kPageSize - 1);
    if ((segs[i].vaddr & ~(kPageSize - 1)) < prev_end) {
      error = "segments at " + hex(segs[i - 1].vaddr) + " and " + hex(segs[i].vaddr) + " overlap";
      return std::nullopt;
    }
  }
  bool entry_ok = false;
  for (auto& s : segs)
    if ((s.prot & hosted::kProtExec) && image.m_entry >= s.vaddr && image.m_entry - s.vaddr < s.mem_size) entry_ok = true;
  if (!entry_ok) {
    error = "entry point " + hex(image.m_entry) + " is not inside an executable segment";
    return std::nullopt;
  }
  image.m_end = (segs.back().vaddr + segs.back().mem_size + kPageSize - 1) & ~(kPageSize - 1);
  image.load_symbols(bytes);
  return image;
}

void ElfImage::load_symbols(std::span<const uint8_t> bytes) {
  Elf64_Ehdr eh;
  read_at(bytes, 0, eh);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || !range_ok(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), bytes.size()))
    return;  // A stripped or odd image still runs; it just has no names.
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    read_at(bytes, eh.e_shoff + uint64_t{i} * sizeof sh, sh);
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum) continue;
    Elf64_Shdr strtab;
    read_at(bytes, eh.e_shoff + uint64_t{sh.sh_link} * sizeof strtab, strtab);
    if (!range_ok(sh.sh_offset, sh.sh_size, bytes.size()) || !range_ok(strtab.sh_offset, strtab.sh_size, bytes.size()))
      continue;
    for (uint64_t off = sh.sh_offset; off + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size; off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      read_at(bytes, off, sym);
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0 || sym.st_name >= strtab.sh_size) continue;
      const char* name = reinterpret_cast<const char*>(bytes.data() + strtab.sh_offset + sym.st_name);
      size_t max = strtab.sh_size - sym.st_name;
      m_symbols.push_back({sym.st_value, sym.st_size, std::string(name, strnlen(name, max))});
    }
  }
  std::sort(m_symbols.begin(), m_symbols.end(), [](auto& a, auto& b) { return a.address < b.address; });
}

std::optional<std::string> ElfImage::symbolize(uint64_t address) const {
  auto it = std::upper_bound(m_symbols.begin(), m_symbols.end(), address,
                             [](uint64_t a, const Symbol& s) { return a < s.address; });
  if (it == m_symbols.begin()) return std::nullopt;
  --it;
  uint64_t off = address - it->address;
  if (it->size != 0 && off >= it->size) return std::nullopt;
  return demangle(it->name) + "+" + hex(off);
}

bool ElfImage::defines(std::string_view name) const {
  for (const Symbol& s : m_symbols)
    if (s.name == name) return true;
  return false;
}

}  // namespace atl::hv
