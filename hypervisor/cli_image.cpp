#include "cli_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "decimal.h"
#include "elf_image.h"
#include "image/image_file.h"
#include "image/ustar_pack.h"

namespace atl::hv {

using namespace image;

const char* const kSealHelp =
    "usage: atoll seal ELF -o IMAGE [--archive DIR|TAR] [--manifest FILE] [manifest options]\n"
    "\n"
    "Seals an appliance ELF, an optional read-only file archive and a manifest into one\n"
    "image file, covered by one SHA-256 digest (docs/images.md). The guest mounts the\n"
    "archive at \"/\". Manifest options override the same keys of --manifest FILE.\n"
    "\n"
    "options:\n"
    "  -o, --output IMAGE       the sealed image to write (replaced atomically)\n"
    "      --archive DIR|TAR    a directory (packed as ustar: sorted, owner 0, fixed mtime)\n"
    "                           or a ready ustar file\n"
    "      --mtime SECONDS      file times in an archive packed from DIR\n"
    "                           (default $SOURCE_DATE_EPOCH, else 0)\n"
    "      --manifest FILE      `key value` lines: name, memory, cmdline, vifs, publish, disk\n"
    "manifest options:\n"
    "      --name NAME          the appliance's name\n"
    "  -m, --memory SIZE        memory atoll run gives it unless -m says otherwise\n"
    "      --cmdline TEXT       guest arguments used when atoll run is given none\n"
    "      --vifs N             network interfaces atoll run gives it unless --net says\n"
    "  -p, --publish HOSTPORT:PORT[/udp]  a port atoll run publishes unless -p says (repeatable)\n"
    "      --disk NAME[,ro|,rw][,required|,optional|,ephemeral=SIZE][,unless,ARG...]\n"
    "                           a disk it needs, in vbd order (repeatable); ephemeral:\n"
    "                           atoll run makes an empty scratch disk when none is given;\n"
    "                           unless: not needed when the guest's arguments hold ARG...\n"
    "  -h, --help               show this help\n"
    "\n"
    "exit status: 0 sealed, 1 refused (bad ELF, archive or manifest), 2 bad usage\n";

const char* const kInspectHelp =
    "usage: atoll inspect IMAGE [--json]\n"
    "\n"
    "Verifies IMAGE as `atoll run` would (layout, digest, each part's SHA-256, the Xen\n"
    "ABI, a signature if present) and prints its manifest, digest, signature status\n"
    "and the sizes of its parts. A bare ELF is reported as unsealed.\n"
    "\n"
    "options:\n"
    "      --json               one JSON object on stdout instead of text\n"
    "  -h, --help               show this help\n"
    "\n"
    "exit status: 0 valid, 1 refused (the message says why), 2 bad usage\n";

const char* const kKeygenHelp =
    "usage: atoll keygen -o KEYBASE\n"
    "\n"
    "Makes an Ed25519 signing key pair: KEYBASE.key (secret, mode 0600) and KEYBASE.pub\n"
    "(public: copy it into the --trusted-keys directory of hosts that run your images).\n"
    "Existing files are never overwritten.\n"
    "\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

const char* const kSignHelp =
    "usage: atoll sign --key SECRET IMAGE\n"
    "\n"
    "Verifies the sealed IMAGE and signs its digest with the Ed25519 key in SECRET (from\n"
    "`atoll keygen`), in place; an existing signature is replaced. Check it with\n"
    "`atoll inspect IMAGE`; require it with `atoll run --require-signed --trusted-keys DIR`.\n"
    "\n"
    "exit status: 0 signed, 1 refused or failed, 2 bad usage\n";

namespace {

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

[[noreturn]] void usage(const char* verb, const std::string& message) {
  fprintf(stderr, "atoll %s: %s\nTry `atoll %s --help`.\n", verb, message.c_str(), verb);
  exit(kExitUsage);
}

int refused(const char* verb, const std::string& message) {
  fprintf(stderr, "atoll %s: %s\n", verb, message.c_str());
  return kExitRefused;
}

bool is_help(const std::string& a) { return a == "-h" || a == "--help"; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else out += c;
  }
  return out + "\"";
}

// --- seal ---------------------------------------------------------------

struct SealArgs {
  std::string elf, output, archive, manifest_file;
  uint64_t mtime = 0;
  Manifest flags;  // what the manifest options said
  bool memory = false, vifs = false, publish = false, disks = false, cmdline = false;
};

SealArgs parse_seal_args(int argc, char** argv) {
  SealArgs s;
  if (const char* epoch = getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    auto v = parse_decimal(epoch);
    if (!v) usage("seal", std::string("SOURCE_DATE_EPOCH must be a whole number of seconds, not `") + epoch + "`");
    s.mtime = *v;
  }
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("seal", a + " needs a value");
      return argv[++i];
    };
    if (is_help(a)) { fputs(kSealHelp, stdout); exit(0); }
    else if (a == "-o" || a == "--output") s.output = value();
    else if (a == "--archive") s.archive = value();
    else if (a == "--manifest") s.manifest_file = value();
    else if (a == "--mtime") {
      std::string v = value();
      auto t = parse_decimal(v);
      if (!t) usage("seal", "--mtime takes a whole number of seconds, not `" + v + "`");
      s.mtime = *t;
    } else if (a == "--name") {
      s.flags.name = value();
      if (!parse_manifest("name " + s.flags.name, ManifestSource::kUser).manifest)
        usage("seal", "--name takes 1 to 64 letters, digits, '-', '_' or '.', not `" + s.flags.name + "`");
    } else if (a == "-m" || a == "--memory") {
      std::string v = value();
      auto m = parse_memory_size(v);
      if (!m) usage("seal", a + " takes " + memory_size_rule() + ", not `" + v + "`");
      s.flags.memory = *m;
      s.memory = true;
    } else if (a == "--cmdline") { s.flags.cmdline = value(); s.cmdline = true; }
    else if (a == "--vifs") {
      std::string v = value();
      auto n = parse_decimal(v, 0, kMaxManifestVifs);
      if (!n) usage("seal", "--vifs takes a whole number " + range_text(0, kMaxManifestVifs) + ", not `" + v + "`");
      s.flags.vifs = static_cast<unsigned>(*n);
      s.vifs = true;
    } else if (a == "-p" || a == "--publish") {
      std::string v = value();
      auto p = parse_manifest_port(v);
      if (!p) usage("seal", "cannot read " + a + " " + v + " (try 8080:80 or 5353:53/udp; ports are 1 to 65535)");
      s.flags.publish.push_back(*p);
      s.publish = true;
    } else if (a == "--disk") {
      std::string v = value();
      std::string words = v;
      for (char& c : words) if (c == ',') c = ' ';
      auto d = parse_manifest_disk(words);
      if (!d.disk) usage("seal", "--disk " + v + ": " + d.error);
      s.flags.disks.push_back(*d.disk);
      s.disks = true;
    } else if (!a.empty() && a[0] == '-') usage("seal", "unknown option " + a);
    else if (s.elf.empty()) s.elf = a;
    else usage("seal", "one ELF only (`" + a + "` is a second)");
  }
  if (s.elf.empty()) usage("seal", "seal needs an ELF");
  if (s.output.empty()) usage("seal", "seal needs -o IMAGE");
  return s;
}

// The manifest: --manifest FILE's keys, then the flags over them.
std::optional<Manifest> seal_manifest(const SealArgs& s, std::string& error) {
  Manifest m;
  if (!s.manifest_file.empty()) {
    auto file = MappedFile::try_map(s.manifest_file, error);
    if (!file) return std::nullopt;
    auto b = file->bytes();
    auto parsed = parse_manifest({reinterpret_cast<const char*>(b.data()), b.size()}, ManifestSource::kUser);
    if (!parsed.manifest) { error = s.manifest_file + ": " + parsed.error.text(); return std::nullopt; }
    m = *parsed.manifest;
  }
  if (!s.flags.name.empty()) m.name = s.flags.name;
  if (s.memory) m.memory = s.flags.memory;
  if (s.cmdline) m.cmdline = s.flags.cmdline;
  if (s.vifs) m.vifs = s.flags.vifs;
  if (s.publish) m.publish = s.flags.publish;
  if (s.disks) m.disks = s.flags.disks;
  // The result must read back as it was written: a --cmdline with a newline would not.
  if (!parse_manifest(format_manifest(m), ManifestSource::kUser).manifest) {
    error = "the manifest options do not make a valid manifest (a --cmdline with a control character?)";
    return std::nullopt;
  }
  return m;
}

// The archive's bytes: a mapped tar file, a directory packed in memory, or none.
struct ArchiveBytes {
  std::unique_ptr<MappedFile> file;
  std::vector<uint8_t> packed;
  std::span<const uint8_t> bytes() const { return file ? file->bytes() : std::span<const uint8_t>(packed); }
};

// The archive as the guest will get it: a directory packed, or a tar file as
// it is; either way read once with the guest's own archive reader first.
std::optional<ArchiveBytes> seal_archive(const SealArgs& s, std::string& error) {
  ArchiveBytes a;
  if (s.archive.empty()) return a;
  struct stat st;
  if (stat(s.archive.c_str(), &st) != 0) { error = "--archive " + s.archive + ": " + strerror(errno); return std::nullopt; }
  if (S_ISDIR(st.st_mode)) {
    PackResult r = pack_directory(s.archive, s.mtime);
    for (const auto& p : r.skipped) fprintf(stderr, "atoll seal: %s: not a file, directory or symlink; left out\n", p.c_str());
    if (!r.archive) { error = r.error; return std::nullopt; }
    a.packed = std::move(*r.archive);
  } else if (!(a.file = MappedFile::try_map(s.archive, error))) {
    return std::nullopt;
  }
  if (a.bytes().empty()) { error = "--archive " + s.archive + " is empty"; return std::nullopt; }
  if (std::string why = check_archive(a.bytes()); !why.empty()) {
    error = "--archive " + s.archive + " is not an archive the guest can mount: " + why;
    return std::nullopt;
  }
  return a;
}

// --- inspect ------------------------------------------------------------

std::string need_text(const ManifestDisk& d) {
  switch (d.need) {
    case DiskNeed::kRequired: return "required";
    case DiskNeed::kOptional: return "optional";
    case DiskNeed::kEphemeral: return "ephemeral";
  }
  return "required";
}

std::string part_json(uint64_t offset, uint64_t size) {
  return "{\"offset\": " + std::to_string(offset) + ", \"size\": " + std::to_string(size) + "}";
}

std::string sha_part_json(const ManifestPart& p) {
  return "{\"offset\": " + std::to_string(p.offset) + ", \"size\": " + std::to_string(p.size) + ", \"sha256\": \"" +
         to_hex(p.sha256) + "\"}";
}

std::string manifest_json(const Manifest& m) {
  std::string j = "{\"name\": " + json_string(m.name) + ", \"memory\": " + std::to_string(m.memory) +
                  ", \"cmdline\": " + json_string(m.cmdline) + ", \"vifs\": " +
                  (m.vifs ? std::to_string(*m.vifs) : "null") + ", \"publish\": [";
  for (size_t i = 0; i < m.publish.size(); ++i) {
    const auto& p = m.publish[i];
    j += std::string(i ? ", " : "") + "{\"host_port\": " + std::to_string(p.host_port) + ", \"guest_port\": " +
         std::to_string(p.guest_port) + ", \"protocol\": \"" + (p.udp ? "udp" : "tcp") + "\"}";
  }
  j += "], \"disks\": [";
  for (size_t i = 0; i < m.disks.size(); ++i) {
    const auto& d = m.disks[i];
    j += std::string(i ? ", " : "") + "{\"name\": " + json_string(d.name) + ", \"read_only\": " +
         (d.read_only ? "true" : "false") + ", \"need\": \"" + need_text(d) + "\", \"ephemeral_size\": " +
         std::to_string(d.ephemeral_size) + ", \"unless\": [";
    for (size_t k = 0; k < d.unless.size(); ++k) j += std::string(k ? ", " : "") + json_string(d.unless[k]);
    j += "]}";
  }
  j += "], \"atoll_version\": " + json_string(m.atoll_version) + ", \"xen_abi\": \"" + format_xen_abi(*m.xen_abi) + "\"}";
  return j;
}

void print_inspect_json(const std::string& path, const SealedImage& img) {
  const Manifest& m = img.manifest();
  std::string j = "{\"image\": " + json_string(path) + ", \"sealed\": true, \"format\": " + std::to_string(kFormatVersion) +
                  ", \"size\": " + std::to_string(img.image_size()) + ", \"digest\": \"sha256:" + to_hex(img.digest()) + "\"";
  j += ", \"signature\": ";
  j += img.is_signed() ? "{\"scheme\": \"ed25519\", \"public_key\": \"" + to_hex(*img.signer()) + "\", \"verified\": true}"
                       : std::string("null");
  j += ", \"parts\": {\"header\": " + part_json(0, kHeaderSize) + ", \"manifest\": " + part_json(kHeaderSize, img.manifest_size()) +
       ", \"elf\": " + sha_part_json(*m.elf) + ", \"archive\": " + (m.archive ? sha_part_json(*m.archive) : "null") +
       ", \"trailer\": " + part_json(img.image_size() - kTrailerSize, kTrailerSize) + "}";
  j += ", \"manifest\": " + manifest_json(m) + "}";
  puts(j.c_str());
}

void print_inspect_text(const std::string& path, const SealedImage& img) {
  const Manifest& m = img.manifest();
  printf("image      %s: sealed (format %u), %zu bytes, verified\n", path.c_str(), kFormatVersion, img.image_size());
  printf("digest     sha256:%s\n", to_hex(img.digest()).c_str());
  if (img.is_signed()) printf("signature  ed25519, key %s (verifies)\n", to_hex(*img.signer()).c_str());
  else printf("signature  none (unsigned)\n");
  printf("parts      header %zu, manifest %zu, elf %llu, archive %llu, trailer %zu bytes\n", kHeaderSize,
         img.manifest_size(), static_cast<unsigned long long>(m.elf->size),
         static_cast<unsigned long long>(m.archive ? m.archive->size : 0), kTrailerSize);
  printf("built for  atoll %s, Xen ABI %s\n", m.atoll_version.c_str(), format_xen_abi(*m.xen_abi).c_str());
  printf("manifest:\n");
  std::string text = format_manifest(m);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    printf("  %s\n", line.c_str());
  }
}

}  // namespace

int cmd_seal(int argc, char** argv) {
  SealArgs s = parse_seal_args(argc, argv);
  if (!crypto_ready()) return refused("seal", "libsodium could not initialise");
  std::string error;
  auto elf_file = MappedFile::try_map(s.elf, error);
  if (!elf_file) return refused("seal", error);
  if (!SealedImage::looks_like_elf(elf_file->bytes())) return refused("seal", s.elf + " is not an ELF file");
  if (!ElfImage::try_parse(elf_file->bytes(), error)) return refused("seal", s.elf + " is not an Atoll guest ELF: " + error);
  auto manifest = seal_manifest(s, error);
  if (!manifest) return refused("seal", error);
  auto archive = seal_archive(s, error);
  if (!archive) return refused("seal", error);
  // The parts are written from where they are (the mapped ELF, the archive),
  // between the frame's head and trailer, never copied into one buffer.
  SealedFrame frame = frame_image(*manifest, elf_file->bytes(), archive->bytes());
  if (!write_file_atomic(s.output, {frame.head, elf_file->bytes(), archive->bytes(), frame.trailer}, 0644, error))
    return refused("seal", error);
  return 0;
}

int cmd_inspect(int argc, char** argv) {
  std::string path;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (is_help(a)) { fputs(kInspectHelp, stdout); return 0; }
    if (a == "--json") json = true;
    else if (!a.empty() && a[0] == '-') usage("inspect", "unknown option " + a);
    else if (path.empty()) path = a;
    else usage("inspect", "one IMAGE only");
  }
  if (path.empty()) usage("inspect", "inspect needs an IMAGE");
  if (!crypto_ready()) return refused("inspect", "libsodium could not initialise");
  std::string error;
  auto file = MappedFile::try_map(path, error);
  if (!file) return refused("inspect", error);
  if (SealedImage::looks_like_elf(file->bytes())) {
    if (json) printf("{\"image\": %s, \"sealed\": false, \"size\": %zu}\n", json_string(path).c_str(), file->bytes().size());
    else printf("image      %s: a bare ELF (unsealed: no manifest, digest or signature), %zu bytes\n", path.c_str(),
                file->bytes().size());
    return 0;
  }
  auto opened = SealedImage::try_open(file->bytes());
  if (!opened.image)
    return refused("inspect", refusal_text(path, opened.error));
  if (json) print_inspect_json(path, *opened.image);
  else print_inspect_text(path, *opened.image);
  return 0;
}

int cmd_keygen(int argc, char** argv) {
  std::string base;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (is_help(a)) { fputs(kKeygenHelp, stdout); return 0; }
    if (a == "-o" || a == "--output") {
      if (i + 1 >= argc) usage("keygen", a + " needs a value");
      base = argv[++i];
    } else usage("keygen", "unknown argument " + a);
  }
  if (base.empty()) usage("keygen", "keygen needs -o KEYBASE");
  if (!crypto_ready()) return refused("keygen", "libsodium could not initialise");
  KeyPair keys = generate_keypair();
  std::string error;
  if (!write_keypair(base, keys, error)) return refused("keygen", error);
  printf("secret key %s.key (keep it private)\npublic key %s.pub: %s\n", base.c_str(), base.c_str(),
         to_hex(keys.public_key).c_str());
  return 0;
}

int cmd_sign(int argc, char** argv) {
  std::string key_path, path;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (is_help(a)) { fputs(kSignHelp, stdout); return 0; }
    if (a == "--key" || a == "-k") {
      if (i + 1 >= argc) usage("sign", a + " needs a value");
      key_path = argv[++i];
    } else if (!a.empty() && a[0] == '-') usage("sign", "unknown option " + a);
    else if (path.empty()) path = a;
    else usage("sign", "one IMAGE only");
  }
  if (key_path.empty()) usage("sign", "sign needs --key SECRET");
  if (path.empty()) usage("sign", "sign needs an IMAGE");
  if (!crypto_ready()) return refused("sign", "libsodium could not initialise");
  std::string error;
  auto secret = read_secret_key(key_path, error);
  if (!secret) return refused("sign", error);
  auto file = MappedFile::try_map(path, error);
  if (!file) return refused("sign", error);
  if (SealedImage::looks_like_elf(file->bytes()))
    return refused("sign", path + " is a bare ELF; seal it first (atoll seal ELF -o IMAGE)");
  auto opened = SealedImage::try_open(file->bytes());
  if (!opened.image)
    return refused("sign", refusal_text(path, opened.error));
  std::vector<uint8_t> tail = signed_trailer_tail(opened.image->digest(), *secret);
  off_t at = static_cast<off_t>(opened.image->image_size() - kTrailerSize + kTrailerSignedOffset);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && pwrite(fd, tail.data(), tail.size(), at) == static_cast<ssize_t>(tail.size());
  if (ok && fsync(fd) != 0) ok = false;
  if (!ok) error = std::string("cannot write the signature into ") + path + ": " + strerror(errno);
  if (fd >= 0) close(fd);
  if (!ok) return refused("sign", error);
  printf("signed %s with key %s\n", path.c_str(), to_hex(public_key_of(*secret)).c_str());
  return 0;
}

}  // namespace atl::hv
