// The ustar header block and its fields (POSIX.1-2008, pax "ustar Interchange
// Format"), GNU tar's variants of it, and pax extended-header records. Pure
// decoding: every function takes bytes that came from the archive and trusts
// none of them.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atl::fs::ustar {

constexpr size_t kBlockSize = 512;

// ABI: POSIX.1-2008 XCU pax, "ustar Interchange Format", Table: ustar Header Block.
struct Header {
  char name[100];
  char mode[8];
  char uid[8];
  char gid[8];
  char size[12];
  char mtime[12];
  char chksum[8];
  char typeflag;
  char linkname[100];
  char magic[6];
  char version[2];
  char uname[32];
  char gname[32];
  char devmajor[8];
  char devminor[8];
  char prefix[155];
  char pad[12];
};
static_assert(sizeof(Header) == kBlockSize);
static_assert(offsetof(Header, size) == 124);
static_assert(offsetof(Header, chksum) == 148);
static_assert(offsetof(Header, typeflag) == 156);
static_assert(offsetof(Header, magic) == 257);
static_assert(offsetof(Header, prefix) == 345);

// Type flags. '\0' is an old spelling of kRegular; 'L' and 'K' are GNU tar's
// long name and long link records; 'x' and 'g' are pax extended headers.
constexpr char kRegular = '0';
constexpr char kHardLink = '1';
constexpr char kSymlink = '2';
constexpr char kCharDev = '3';
constexpr char kBlockDev = '4';
constexpr char kDirectory = '5';
constexpr char kFifo = '6';
constexpr char kContiguous = '7';
constexpr char kGnuLongName = 'L';
constexpr char kGnuLongLink = 'K';
constexpr char kPaxHeader = 'x';
constexpr char kPaxGlobal = 'g';

// "ustar\0" "00" is POSIX; "ustar " " \0" is GNU tar's (whose prefix field
// holds other things, so it must not be read as a name prefix).
enum class Magic : uint8_t { kNone, kPosix, kGnu };
Magic magic_of(const Header& h);

bool is_zero_block(const Header& h);
// The stored checksum matches the header's bytes, summed unsigned (POSIX) or
// signed (some historic tars), with the chksum field counted as spaces.
bool checksum_ok(const Header& h);

// A numeric field: octal digits after optional spaces, then only NULs or
// spaces to the end of the field; or GNU tar's base-256 for large positive
// values (first byte 0x80). nullopt for anything else, for an empty field
// and on overflow.
std::optional<int64_t> parse_number(const char* field, size_t len);

// A string field: up to its first NUL, or all of it when it is full.
std::string_view field_string(const char* field, size_t len);

// name, with the POSIX prefix in front when there is one.
std::string member_name(const Header& h);

// Blocks of data that follow a header with this type flag and size: none for
// links, devices, fifos and directories (POSIX: their size is not data).
uint64_t data_bytes(char typeflag, uint64_t size);

// Rounds up to a whole number of blocks (size must be < 2^63).
inline uint64_t padded(uint64_t size) { return (size + kBlockSize - 1) / kBlockSize * kBlockSize; }

// One "LEN key=value\n" record of a pax extended header.
struct PaxRecord {
  std::string_view key;
  std::string_view value;
};
// All records of an extended header's data, or nullopt if any is malformed
// (length not decimal or not covering its record, no '=', no final newline).
// Trailing NULs after the last record are allowed.
std::optional<std::vector<PaxRecord>> parse_pax(std::string_view data);
// A plain decimal without sign (pax size=): nullopt on junk or overflow.
std::optional<uint64_t> parse_decimal(std::string_view text);
// pax mtime=: seconds, optional sign and fraction (dropped).
std::optional<int64_t> parse_pax_time(std::string_view text);

}  // namespace atl::fs::ustar
