// A small ELF writer for the ElfImage tests: a static x86-64 executable with the
// Atoll platform note, PT_LOAD segments and optionally a symbol table, which a test
// then breaks in exactly one way.
#pragma once

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "atoll/hosted_abi.h"

namespace atl::hv::elf_builder {

constexpr uint64_t kPage = hosted::kPageSize;
constexpr uint64_t kLink = 0x40100000;  // hosted::gpa_to_va(kImageGpa)
static_assert(kLink == hosted::gpa_to_va(hosted::kImageGpa));

struct SymbolSpec {
  std::string name;
  uint64_t value;
  uint64_t size;
  unsigned char type;
};

struct NoteSpec {
  std::string name;  // without the terminating NUL, which the builder adds
  std::string desc;  // padded with NULs to desc_size
  uint32_t type;
  uint32_t desc_size;
};

inline NoteSpec atoll_note() { return {"Atoll", "hosted", 1, 8}; }

// Appends one ELF note: header, NUL-terminated name and descriptor, each padded to 4.
inline void append_note(std::vector<uint8_t>& out, const NoteSpec& n) {
  Elf64_Nhdr nh{static_cast<Elf64_Word>(n.name.size() + 1), n.desc_size, n.type};
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&nh);
  out.insert(out.end(), p, p + sizeof nh);
  std::vector<uint8_t> name((nh.n_namesz + 3) & ~3u, 0);
  std::memcpy(name.data(), n.name.c_str(), n.name.size() + 1);
  out.insert(out.end(), name.begin(), name.end());
  std::vector<uint8_t> desc((n.desc_size + 3) & ~3u, 0);
  std::memcpy(desc.data(), n.desc.data(), std::min<size_t>(n.desc.size(), n.desc_size));
  out.insert(out.end(), desc.begin(), desc.end());
}

// Emits a static x86-64 ELF: header, program headers, one PT_NOTE page, PT_LOAD
// segments at page-aligned file offsets congruent with their addresses, then an
// optional .symtab/.strtab with section headers. Tests edit the fields before
// build() or patch the bytes after it.
class ImageBuilder {
 public:
  Elf64_Ehdr header{};
  std::vector<Elf64_Phdr> phdrs;
  std::vector<NoteSpec> notes{atoll_note()};
  std::vector<SymbolSpec> symbols;

  ImageBuilder() {
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_ident[EI_VERSION] = EV_CURRENT;
    header.e_type = ET_EXEC;
    header.e_machine = EM_X86_64;
    header.e_version = EV_CURRENT;
    header.e_ehsize = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_shentsize = sizeof(Elf64_Shdr);
    header.e_phoff = sizeof(Elf64_Ehdr);
    Elf64_Phdr note{};
    note.p_type = PT_NOTE;
    note.p_flags = PF_R;
    note.p_offset = kNoteOffset;
    note.p_align = 4;
    phdrs.push_back(note);  // p_filesz is filled in by build()
  }

  // Adds a PT_LOAD with `filesz` bytes of content; returns its index in phdrs.
  size_t load(uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags) {
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = flags;
    ph.p_offset = m_cursor + vaddr % kPage;
    ph.p_vaddr = ph.p_paddr = vaddr;
    ph.p_filesz = filesz;
    ph.p_memsz = memsz;
    ph.p_align = kPage;
    m_cursor = round_up(ph.p_offset + filesz);
    phdrs.push_back(ph);
    return phdrs.size() - 1;
  }

  // The good image every defect test starts from.
  static ImageBuilder good() {
    ImageBuilder b;
    b.load(kLink, 0x180, 0x180, PF_R | PF_X);                // .text
    b.load(kLink + 0x1000, 0x100, 0x100, PF_R);              // .rodata
    b.load(kLink + 0x2000, 0x40, 0x3000, PF_R | PF_W);       // .data + .bss
    b.header.e_entry = kLink + 0x10;
    b.symbols = {
        {"_start", kLink, 0x10, STT_FUNC},
        {"main", kLink + 0x10, 0x40, STT_FUNC},
        {"helper", kLink + 0x100, 0x80, STT_FUNC},
        {"counter", kLink + 0x2000, 8, STT_OBJECT},  // not a function: never a name for code
        {"undefined", 0, 0, STT_FUNC},              // address 0: ignored
    };
    return b;
  }

  std::vector<uint8_t> build() {
    std::vector<uint8_t> out(m_cursor, 0);
    header.e_phnum = static_cast<uint16_t>(phdrs.size());

    std::vector<uint8_t> note_bytes;
    for (const NoteSpec& n : notes) append_note(note_bytes, n);
    if (!phdrs.empty() && phdrs[0].p_type == PT_NOTE && phdrs[0].p_filesz == 0) phdrs[0].p_filesz = note_bytes.size();
    std::copy(note_bytes.begin(), note_bytes.end(), out.begin() + kNoteOffset);

    // Segment contents: a recognisable pattern, only where the file has room.
    for (const Elf64_Phdr& ph : phdrs)
      if (ph.p_type == PT_LOAD)
        if (ph.p_offset < out.size())
          std::memset(out.data() + ph.p_offset, 0xC3, std::min<uint64_t>(ph.p_filesz, out.size() - ph.p_offset));

    if (!symbols.empty()) append_symbols(out);
    std::memcpy(out.data(), &header, sizeof header);
    std::memcpy(out.data() + header.e_phoff, phdrs.data(), phdrs.size() * sizeof(Elf64_Phdr));
    return out;
  }

 private:
  static constexpr uint64_t kNoteOffset = 0x800;  // program headers end well before this
  static uint64_t round_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

  void append_symbols(std::vector<uint8_t>& out) {
    std::string strtab(1, '\0');
    std::vector<Elf64_Sym> syms(1);  // index 0 is the null symbol
    for (const SymbolSpec& s : symbols) {
      Elf64_Sym sym{};
      sym.st_name = static_cast<Elf64_Word>(strtab.size());
      sym.st_info = ELF64_ST_INFO(STB_GLOBAL, s.type);
      sym.st_shndx = 1;
      sym.st_value = s.value;
      sym.st_size = s.size;
      syms.push_back(sym);
      strtab += s.name;
      strtab += '\0';
    }
    uint64_t symtab_off = out.size();
    append(out, syms.data(), syms.size() * sizeof(Elf64_Sym));
    uint64_t strtab_off = out.size();
    append(out, strtab.data(), strtab.size());
    while (out.size() % 8) out.push_back(0);

    Elf64_Shdr sh[3]{};  // null, .symtab, .strtab
    sh[1].sh_type = SHT_SYMTAB;
    sh[1].sh_offset = symtab_off;
    sh[1].sh_size = syms.size() * sizeof(Elf64_Sym);
    sh[1].sh_entsize = sizeof(Elf64_Sym);
    sh[1].sh_link = 2;
    sh[2].sh_type = SHT_STRTAB;
    sh[2].sh_offset = strtab_off;
    sh[2].sh_size = strtab.size();
    header.e_shoff = out.size();
    header.e_shnum = 3;
    header.e_shstrndx = SHN_UNDEF;
    append(out, sh, sizeof sh);
  }

  static void append(std::vector<uint8_t>& out, const void* data, size_t size) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    out.insert(out.end(), p, p + size);
  }

  uint64_t m_cursor = kPage;  // first page: headers and the note
};

}  // namespace atl::hv::elf_builder
