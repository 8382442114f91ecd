// ElfImage::try_parse on images synthesised here: one good image, then one defect
// at a time, each of which must be rejected with a sentence naming the problem.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "elf_builder.h"
#include "elf_image.h"

namespace atl::hv {
namespace {

using elf_builder::atoll_note;
using elf_builder::append_note;
using elf_builder::ImageBuilder;
using elf_builder::kLink;
using elf_builder::kPage;
using elf_builder::NoteSpec;

// Parses `bytes` expecting failure; returns the error sentence.
std::string rejection(const std::vector<uint8_t>& bytes) {
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  EXPECT_FALSE(image.has_value()) << "the image was accepted";
  EXPECT_FALSE(error.empty()) << "a rejection must say why";
  return error;
}

std::string rejection(ImageBuilder b) { return rejection(b.build()); }

template <typename Field>
void patch(std::vector<uint8_t>& bytes, uint64_t offset, Field value) {
  ASSERT_LE(offset + sizeof value, bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// Passes when `error` contains `keyword`; the failure message shows the whole sentence.
::testing::AssertionResult Mentions(const std::string& error, const std::string& keyword) {
  if (error.find(keyword) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "error \"" << error << "\" does not mention \"" << keyword << "\"";
}

// The good image -------------------------------------------------------------

TEST(ElfImage, GoodImageParses) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->entry(), kLink + 0x10);
  EXPECT_EQ(image->bytes().data(), bytes.data());
  EXPECT_EQ(image->bytes().size(), bytes.size());

  const auto& segs = image->segments();
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].vaddr, kLink);
  EXPECT_EQ(segs[0].file_offset, 0x1000u);
  EXPECT_EQ(segs[0].file_size, 0x180u);
  EXPECT_EQ(segs[0].mem_size, 0x180u);
  EXPECT_EQ(segs[0].prot, uint32_t{hosted::kProtRead | hosted::kProtExec});
  EXPECT_EQ(segs[1].vaddr, kLink + 0x1000);
  EXPECT_EQ(segs[1].prot, uint32_t{hosted::kProtRead});
  EXPECT_EQ(segs[2].vaddr, kLink + 0x2000);
  EXPECT_EQ(segs[2].file_size, 0x40u);
  EXPECT_EQ(segs[2].mem_size, 0x3000u);
  EXPECT_EQ(segs[2].prot, uint32_t{hosted::kProtRead | hosted::kProtWrite});
  // The segment's file bytes are where the header says.
  EXPECT_EQ(bytes[segs[0].file_offset], 0xC3);
}

TEST(ElfImage, EndIsPageAlignedPastLastSegment) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs.back().p_memsz = 0x2801;  // .bss ends mid-page
  std::string error;
  auto bytes = b.build();
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->end(), kLink + 0x2000 + 0x3000);
  EXPECT_EQ(image->end() % kPage, 0u);
}

TEST(ElfImage, SegmentsAreSortedByAddress) {
  ImageBuilder b;
  b.load(kLink + 0x5000, 0x10, 0x10, PF_R | PF_W);
  b.load(kLink, 0x10, 0x10, PF_R | PF_X);
  b.header.e_entry = kLink;
  std::string error;
  auto bytes = b.build();
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  ASSERT_EQ(image->segments().size(), 2u);
  EXPECT_EQ(image->segments()[0].vaddr, kLink);
  EXPECT_EQ(image->segments()[1].vaddr, kLink + 0x5000);
  EXPECT_EQ(image->end(), kLink + 0x6000);
}

TEST(ElfImage, EmptyLoadSegmentsAreIgnored) {
  ImageBuilder b = ImageBuilder::good();
  // A zero-size PT_LOAD (as some linkers emit for an empty .tbss) may be anywhere.
  Elf64_Phdr empty{};
  empty.p_type = PT_LOAD;
  empty.p_vaddr = 0;
  empty.p_flags = PF_R | PF_W | PF_X;
  b.phdrs.push_back(empty);
  std::string error;
  auto bytes = b.build();
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->segments().size(), 3u);
}

TEST(ElfImage, NoteAfterAnotherNoteIsFound) {
  ImageBuilder b = ImageBuilder::good();
  b.notes = {{"GNU", std::string(20, '\x5a'), NT_GNU_BUILD_ID, 20}, atoll_note()};
  std::string error;
  auto bytes = b.build();
  EXPECT_TRUE(ElfImage::try_parse(bytes, error).has_value()) << error;
}

TEST(ElfImage, SymbolizeInsideFunction) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  ASSERT_TRUE(image->has_symbols());
  EXPECT_EQ(image->symbolize(kLink + 0x24), "main+0x14");
  EXPECT_EQ(image->symbolize(kLink + 0x10), "main+0x0");
  EXPECT_EQ(image->symbolize(kLink + 0x4f), "main+0x3f");
  EXPECT_EQ(image->symbolize(kLink), "_start+0x0");
  EXPECT_EQ(image->symbolize(kLink + 0xf), "_start+0xf");
  EXPECT_EQ(image->symbolize(kLink + 0x17f), "helper+0x7f");
}

TEST(ElfImage, SymbolizeDemanglesCxxNames) {
  ImageBuilder b = ImageBuilder::good();
  b.symbols.push_back({"_ZN2kv8Keyspace3setERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE", kLink + 0x200, 0x40, STT_FUNC});
  b.symbols.push_back({"_Znam", kLink + 0x240, 0x10, STT_FUNC});
  b.symbols.push_back({"_Z_not_a_mangling", kLink + 0x250, 0x10, STT_FUNC});
  std::string error;
  auto bytes = b.build();
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->symbolize(kLink + 0x210), "kv::Keyspace::set(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)+0x10");
  EXPECT_EQ(image->symbolize(kLink + 0x240), "operator new[](unsigned long)+0x0");
  EXPECT_EQ(image->symbolize(kLink + 0x251), "_Z_not_a_mangling+0x1") << "a name that does not demangle stays";
  EXPECT_TRUE(image->defines("_Znam")) << "defines() still takes the raw name";
}

TEST(ElfImage, SymbolizeOutsideFunctions) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->symbolize(kLink - 1), std::nullopt) << "below the first function";
  EXPECT_EQ(image->symbolize(0), std::nullopt);
  EXPECT_EQ(image->symbolize(kLink + 0x50), std::nullopt) << "one past the end of main";
  EXPECT_EQ(image->symbolize(kLink + 0xff), std::nullopt) << "the gap before helper";
  EXPECT_EQ(image->symbolize(kLink + 0x180), std::nullopt) << "one past the end of helper";
  EXPECT_EQ(image->symbolize(kLink + 0x2000), std::nullopt) << "an OBJECT symbol is not a function";
  EXPECT_EQ(image->symbolize(UINT64_MAX), std::nullopt);
}

TEST(ElfImage, StrippedImageHasNoSymbols) {
  ImageBuilder b = ImageBuilder::good();
  b.symbols.clear();
  std::string error;
  auto bytes = b.build();
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_FALSE(image->has_symbols());
  EXPECT_EQ(image->symbolize(kLink + 0x24), std::nullopt);
}

TEST(ElfImage, BrokenSymbolTableStillRuns) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  // The .symtab's size runs past the end of the file.
  uint64_t symtab_shdr = eh.e_shoff + sizeof(Elf64_Shdr);
  patch(bytes, symtab_shdr + offsetof(Elf64_Shdr, sh_size), uint64_t{1} << 40);
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_FALSE(image->has_symbols());
}

TEST(ElfImage, SymbolNameOffsetPastStrtabIsIgnored) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  Elf64_Shdr symtab;
  std::memcpy(&symtab, bytes.data() + eh.e_shoff + sizeof(Elf64_Shdr), sizeof symtab);
  // Symbol 2 is "main": point its name far outside the string table.
  patch(bytes, symtab.sh_offset + 2 * sizeof(Elf64_Sym) + offsetof(Elf64_Sym, st_name), Elf64_Word{0xFFFFFF});
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_EQ(image->symbolize(kLink + 0x24), std::nullopt);
  EXPECT_EQ(image->symbolize(kLink + 0x4), "_start+0x4");
}

// Rejections -----------------------------------------------------------------

TEST(ElfImageReject, EmptyFile) {
  EXPECT_TRUE(Mentions(rejection(std::vector<uint8_t>{}), "too small"));
}

TEST(ElfImageReject, TruncatedHeader) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  bytes.resize(sizeof(Elf64_Ehdr) - 1);
  EXPECT_TRUE(Mentions(rejection(bytes), "too small"));
}

TEST(ElfImageReject, BadMagic) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_ident[EI_MAG1] = 'F';
  EXPECT_TRUE(Mentions(rejection(b), "bad magic"));
}

TEST(ElfImageReject, NotElfAtAll) {
  std::vector<uint8_t> bytes(4096, 0);
  std::memcpy(bytes.data(), "#!/bin/sh\n", 10);
  EXPECT_TRUE(Mentions(rejection(bytes), "bad magic"));
}

TEST(ElfImageReject, ThirtyTwoBitClass) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_ident[EI_CLASS] = ELFCLASS32;
  EXPECT_TRUE(Mentions(rejection(b), "64-bit"));
}

TEST(ElfImageReject, BigEndian) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_ident[EI_DATA] = ELFDATA2MSB;
  EXPECT_TRUE(Mentions(rejection(b), "little-endian"));
}

TEST(ElfImageReject, WrongMachine) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_machine = EM_AARCH64;
  EXPECT_TRUE(Mentions(rejection(b), "x86-64"));
}

TEST(ElfImageReject, SharedObject) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_type = ET_DYN;
  EXPECT_TRUE(Mentions(rejection(b), "not a static executable"));
}

TEST(ElfImageReject, RelocatableObject) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_type = ET_REL;
  EXPECT_TRUE(Mentions(rejection(b), "not a static executable"));
}

TEST(ElfImageReject, ProgramHeadersPastEndOfFile) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  patch(bytes, offsetof(Elf64_Ehdr, e_phoff), uint64_t{bytes.size() - sizeof(Elf64_Phdr)});
  EXPECT_TRUE(Mentions(rejection(bytes), "program header"));
}

TEST(ElfImageReject, ProgramHeaderOffsetOverflows) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  patch(bytes, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8);
  EXPECT_TRUE(Mentions(rejection(bytes), "program header"));
}

TEST(ElfImageReject, NoProgramHeaders) {
  ImageBuilder b = ImageBuilder::good();
  std::vector<uint8_t> bytes = b.build();
  patch(bytes, offsetof(Elf64_Ehdr, e_phnum), Elf64_Half{0});
  EXPECT_TRUE(Mentions(rejection(bytes), "program header"));
}

TEST(ElfImageReject, WrongProgramHeaderEntrySize) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  patch(bytes, offsetof(Elf64_Ehdr, e_phentsize), Elf64_Half{32});
  EXPECT_TRUE(Mentions(rejection(bytes), "program header"));
}

TEST(ElfImageReject, TruncatedImage) {
  ImageBuilder b = ImageBuilder::good();
  b.symbols.clear();  // so the last bytes of the file are the last segment's
  std::vector<uint8_t> bytes = b.build();
  bytes.resize(b.phdrs.back().p_offset + b.phdrs.back().p_filesz - 1);
  std::string error = rejection(bytes);
  EXPECT_TRUE(Mentions(error, "past the end of the file"));
  EXPECT_TRUE(Mentions(error, "0x40102000")) << "the message names the segment";
}

TEST(ElfImageReject, SegmentFileOffsetOverflows) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs[1].p_offset = UINT64_MAX - 0xFFF;  // still page-congruent with the vaddr
  b.phdrs[1].p_filesz = 0x2000;
  b.phdrs[1].p_memsz = 0x2000;
  EXPECT_TRUE(Mentions(rejection(b), "past the end of the file"));
}

TEST(ElfImageReject, MoreFileBytesThanMemoryBytes) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs[2].p_memsz = 0x3f;  // filesz is 0x40
  EXPECT_TRUE(Mentions(rejection(b), "more file bytes than memory bytes"));
}

TEST(ElfImageReject, SegmentBelowImageBase) {
  ImageBuilder b;
  b.load(kLink - kPage, 0x10, 0x10, PF_R | PF_X);
  b.header.e_entry = kLink - kPage;
  std::string error = rejection(b);
  EXPECT_TRUE(Mentions(error, "outside guest memory"));
  EXPECT_TRUE(Mentions(error, "0x40100000")) << "the message says where images belong";
}

TEST(ElfImageReject, SegmentLinkedAtZero) {
  ImageBuilder b;
  b.load(0x400000, 0x10, 0x10, PF_R | PF_X);  // a normal Linux static binary
  b.header.e_entry = 0x400000;
  EXPECT_TRUE(Mentions(rejection(b), "outside guest memory"));
}

TEST(ElfImageReject, SegmentBeyondGuestMemory) {
  const uint64_t top = hosted::gpa_to_va(hosted::kMaxMemory);
  ImageBuilder b = ImageBuilder::good();
  b.load(top - kPage, 0x10, 2 * kPage, PF_R);  // starts inside, ends past the top
  EXPECT_TRUE(Mentions(rejection(b), "outside guest memory"));

  ImageBuilder c = ImageBuilder::good();
  c.load(top, 0x10, 0x10, PF_R);  // starts exactly at the top
  EXPECT_TRUE(Mentions(rejection(c), "outside guest memory"));
}

TEST(ElfImage, SegmentEndingExactlyAtTopOfMemoryIsAccepted) {
  const uint64_t top = hosted::gpa_to_va(hosted::kMaxMemory);
  ImageBuilder b = ImageBuilder::good();
  b.load(top - kPage, 0x10, kPage, PF_R);
  std::string error;
  auto bytes = b.build();
  EXPECT_TRUE(ElfImage::try_parse(bytes, error).has_value()) << error;
}

TEST(ElfImageReject, SegmentAddressOverflows) {
  ImageBuilder b = ImageBuilder::good();
  b.load(0xFFFFFFFFFFFFF000ULL, 0x10, 0x2000, PF_R);  // vaddr + memsz wraps to a small number
  EXPECT_TRUE(Mentions(rejection(b), "outside guest memory"));
}

TEST(ElfImageReject, WritableAndExecutable) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs[1].p_flags = PF_R | PF_W | PF_X;
  std::string error = rejection(b);
  EXPECT_TRUE(Mentions(error, "writable and executable"));
  EXPECT_TRUE(Mentions(error, "W^X"));
}

TEST(ElfImageReject, NotPageCongruent) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs[2].p_offset += 8;
  EXPECT_TRUE(Mentions(rejection(b), "page-congruent"));
}

TEST(ElfImageReject, OverlappingSegments) {
  ImageBuilder b;
  b.load(kLink, 0x10, 0x2000, PF_R | PF_X);
  b.load(kLink + 0x1000, 0x10, 0x10, PF_R);
  b.header.e_entry = kLink;
  std::string error = rejection(b);
  EXPECT_TRUE(Mentions(error, "overlap"));
  EXPECT_TRUE(Mentions(error, "0x40100000"));
  EXPECT_TRUE(Mentions(error, "0x40101000"));
}

TEST(ElfImageReject, SegmentInsideAnother) {
  ImageBuilder b;
  b.load(kLink, 0x10, 0x10000, PF_R | PF_X);
  b.load(kLink + 0x4000, 0x10, 0x10, PF_R);
  b.load(kLink + 0x8000, 0x10, 0x10, PF_R);
  b.header.e_entry = kLink;
  EXPECT_TRUE(Mentions(rejection(b), "overlap"));
}

TEST(ElfImageReject, SegmentsSharingOnePage) {
  // Protections are per page: text and data in one page cannot both be honoured.
  ImageBuilder b;
  b.load(kLink, 0x100, 0x100, PF_R | PF_X);
  b.load(kLink + 0x800, 0x10, 0x10, PF_R | PF_W);
  b.header.e_entry = kLink;
  EXPECT_TRUE(Mentions(rejection(b), "overlap"));
}

TEST(ElfImageReject, SegmentsSharingOnePageListedOutOfOrder) {
  ImageBuilder b;
  b.load(kLink + 0x800, 0x10, 0x10, PF_R | PF_W);
  b.load(kLink, 0x100, 0x100, PF_R | PF_X);
  b.header.e_entry = kLink;
  EXPECT_TRUE(Mentions(rejection(b), "overlap"));
}

TEST(ElfImage, AdjacentPagesDoNotOverlap) {
  ImageBuilder b;
  b.load(kLink, 0x100, kPage, PF_R | PF_X);  // ends exactly at a page boundary
  b.load(kLink + kPage, 0x10, 0x10, PF_R | PF_W);
  b.header.e_entry = kLink;
  std::string error;
  auto bytes = b.build();
  EXPECT_TRUE(ElfImage::try_parse(bytes, error).has_value()) << error;
}

TEST(ElfImageReject, EntryInNonExecutableSegment) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_entry = kLink + 0x1000;  // .rodata
  std::string error = rejection(b);
  EXPECT_TRUE(Mentions(error, "entry point"));
  EXPECT_TRUE(Mentions(error, "0x40101000"));
}

TEST(ElfImageReject, EntryOutsideAnySegment) {
  for (uint64_t entry : {uint64_t{0}, kLink - 1, kLink + 0x180 /* one past .text */, kLink + 0x10000, UINT64_MAX}) {
    ImageBuilder b = ImageBuilder::good();
    b.header.e_entry = entry;
    EXPECT_TRUE(Mentions(rejection(b), "entry point")) << std::hex << entry;
  }
}

TEST(ElfImage, EntryAtLastByteOfTextIsAccepted) {
  ImageBuilder b = ImageBuilder::good();
  b.header.e_entry = kLink + 0x17f;
  std::string error;
  auto bytes = b.build();
  EXPECT_TRUE(ElfImage::try_parse(bytes, error).has_value()) << error;
}

TEST(ElfImageReject, MissingAtollNote) {
  ImageBuilder b = ImageBuilder::good();
  b.notes.clear();
  b.phdrs.erase(b.phdrs.begin());  // no PT_NOTE at all
  EXPECT_TRUE(Mentions(rejection(b), "note"));
}

TEST(ElfImageReject, OnlyAnUnrelatedNote) {
  ImageBuilder b = ImageBuilder::good();
  b.notes = {{"GNU", std::string(20, '\x5a'), NT_GNU_BUILD_ID, 20}};
  EXPECT_TRUE(Mentions(rejection(b), "note"));
}

TEST(ElfImageReject, AtollNoteWithWrongFields) {
  for (NoteSpec note : {NoteSpec{"Atolx", "hosted", 1, 8}, NoteSpec{"Atoll", "hosted", 2, 8},
                        NoteSpec{"Atoll", "xen", 1, 8}, NoteSpec{"Atoll", "hosted", 1, 4}, NoteSpec{"Atol", "hosted", 1, 8}}) {
    ImageBuilder b = ImageBuilder::good();
    b.notes = {note};
    EXPECT_TRUE(Mentions(rejection(b), "note")) << note.name << "/" << note.desc << "/" << note.type;
  }
}

// A Xen PVH image (kernel/platform/xen) is linked at 1 MiB: without looking at
// the platform first, `atoll run` would report its addresses instead of what it is.
TEST(ElfImageReject, XenPvhImageSaysWhereItBoots) {
  ImageBuilder b = ImageBuilder::good();
  b.notes = {NoteSpec{"Atoll", "xen", 1, 4}};
  std::string error = rejection(b);
  EXPECT_TRUE(Mentions(error, "Xen PVH image")) << error;
  EXPECT_TRUE(Mentions(error, "xl create")) << error;
}

TEST(ElfImageReject, NoteSegmentPastEndOfFile) {
  ImageBuilder b = ImageBuilder::good();
  b.phdrs[0].p_filesz = uint64_t{1} << 40;
  EXPECT_TRUE(Mentions(rejection(b), "note"));
}

TEST(ElfImageReject, NoteWithHugeNameSize) {
  std::vector<uint8_t> bytes = ImageBuilder::good().build();
  Elf64_Phdr note;
  std::memcpy(&note, bytes.data() + sizeof(Elf64_Ehdr), sizeof note);
  patch(bytes, note.p_offset + offsetof(Elf64_Nhdr, n_namesz), Elf64_Word{0xFFFFFFFF});
  EXPECT_TRUE(Mentions(rejection(bytes), "note"));
}

// Regression: the note's name and descriptor sizes were rounded up in 32 bits, so a
// descriptor size of 0xFFFFFFFE wrapped to 0 and a note claiming 4 GiB of
// descriptor was accepted, its "hosted" read from whatever followed the note (past
// the end of the file when the note came last).
TEST(ElfImageReject, NoteDescSizeWrapsWhenRounded) {
  ImageBuilder b = ImageBuilder::good();
  b.notes = {atoll_note()};
  std::vector<uint8_t> bytes = b.build();
  const Elf64_Phdr& note = b.phdrs[0];
  patch(bytes, note.p_offset + offsetof(Elf64_Nhdr, n_descsz), Elf64_Word{0xFFFFFFFE});
  // The segment ends right after the name, as if the descriptor were empty.
  patch(bytes, sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, p_filesz), uint64_t{sizeof(Elf64_Nhdr) + 8});
  EXPECT_TRUE(Mentions(rejection(bytes), "note"));
}

TEST(ElfImageReject, NoteNameSizeWrapsWhenRounded) {
  // A note claiming a 4 GiB name, directly followed by a well-formed Atoll note. The
  // first note runs past the segment, so the scan must stop there; a parser whose
  // rounding wraps to 0 steps straight onto the Atoll note and accepts.
  std::vector<uint8_t> notes;
  const Elf64_Nhdr huge_name{0xFFFFFFFD, 0, 7};
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&huge_name);
  notes.insert(notes.end(), p, p + sizeof huge_name);
  append_note(notes, atoll_note());
  ImageBuilder b = ImageBuilder::good();
  std::vector<uint8_t> bytes = b.build();
  std::memcpy(bytes.data() + b.phdrs[0].p_offset, notes.data(), notes.size());
  patch(bytes, sizeof(Elf64_Ehdr) + offsetof(Elf64_Phdr, p_filesz), uint64_t{notes.size()});
  EXPECT_TRUE(Mentions(rejection(bytes), "note"));
}

TEST(ElfImageReject, NoLoadableSegments) {
  ImageBuilder b;
  b.header.e_entry = kLink;
  EXPECT_TRUE(Mentions(rejection(b), "no loadable segments"));
}

// Every prefix of a good image is either rejected with a reason or parsed (once the
// missing tail is only the symbol table); none may read out of bounds.
TEST(ElfImageReject, EveryTruncationIsHandled) {
  ImageBuilder b = ImageBuilder::good();
  std::vector<uint8_t> full = b.build();
  const uint64_t segments_end = b.phdrs.back().p_offset + b.phdrs.back().p_filesz;
  for (size_t len = 0; len < full.size(); ++len) {
    std::string error;
    auto image = ElfImage::try_parse(std::span<const uint8_t>(full.data(), len), error);
    if (image) {
      ASSERT_GE(len, segments_end) << "accepted an image missing segment bytes";
      EXPECT_FALSE(image->has_symbols()) << "len " << len;
    } else {
      ASSERT_LT(len, segments_end) << "rejected an image whose segments are whole: " << error;
      ASSERT_FALSE(error.empty()) << "len " << len;
    }
  }
}

// The real linker output, when this build has produced it.
TEST(ElfImage, BuiltHelloImage) {
  const char* path = std::getenv("ATOLL_HELLO_IMAGE");
  if (!path) GTEST_SKIP() << "ATOLL_HELLO_IMAGE is not set";
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << path << " has not been built";
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string error;
  auto image = ElfImage::try_parse(bytes, error);
  ASSERT_TRUE(image.has_value()) << error;
  EXPECT_GE(image->entry(), kLink);
  EXPECT_GT(image->end(), image->entry());
  EXPECT_EQ(image->end() % kPage, 0u);
  ASSERT_FALSE(image->segments().empty());
  for (const ImageSegment& s : image->segments()) {
    EXPECT_GE(s.vaddr, kLink);
    EXPECT_FALSE((s.prot & hosted::kProtWrite) && (s.prot & hosted::kProtExec)) << std::hex << s.vaddr;
  }
  ASSERT_TRUE(image->has_symbols());
  // _start is an assembly label without a type, so look for any function in .text.
  const ImageSegment& text = image->segments().front();
  std::optional<std::string> name;
  for (uint64_t a = text.vaddr; a < text.vaddr + text.mem_size && !name; a += 4) name = image->symbolize(a);
  ASSERT_TRUE(name.has_value()) << "no function symbols in .text";
  EXPECT_TRUE(Mentions(*name, "+0x"));
}

}  // namespace
}  // namespace atl::hv
