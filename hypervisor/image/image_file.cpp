#include "image_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace atl::hv::image {

namespace {

constexpr char kPublicPrefix[] = "atoll-ed25519-public ";
constexpr char kSecretPrefix[] = "atoll-ed25519-secret ";
constexpr size_t kMaxKeyFile = 4096;

std::string errno_text(const std::string& what) { return what + ": " + strerror(errno); }

std::optional<std::string> read_small_file(const std::string& path, std::string& error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) { error = errno_text("cannot open " + path); return std::nullopt; }
  std::string text(kMaxKeyFile + 1, '\0');
  ssize_t n = read(fd, text.data(), text.size());
  close(fd);
  if (n < 0) { error = errno_text("cannot read " + path); return std::nullopt; }
  if (static_cast<size_t>(n) > kMaxKeyFile) { error = path + " is too large for a key file"; return std::nullopt; }
  text.resize(n);
  return text;
}

// "PREFIX HEX\n" into `out`.
bool parse_key_text(std::string text, const char* prefix, std::span<uint8_t> out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t plen = std::strlen(prefix);
  if (text.compare(0, plen, prefix) != 0) return false;
  return from_hex(std::string_view(text).substr(plen), out);
}

// One line: PREFIX and 2*N hex digits.
template <size_t N>
std::optional<std::array<uint8_t, N>> read_key_file(const std::string& path, const char* prefix, const char* kind,
                                                    std::string& error) {
  auto text = read_small_file(path, error);
  if (!text) return std::nullopt;
  std::array<uint8_t, N> k;
  if (!parse_key_text(*text, prefix, k)) {
    error = path + " is not an Atoll " + kind + " key (one line: " + std::string(prefix) + "and " +
            std::to_string(2 * N) + " hex digits)";
    return std::nullopt;
  }
  return k;
}

bool write_new_file(const std::string& path, const std::string& text, int mode, std::string& error) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) { error = errno_text("cannot create " + path); return false; }
  // The mode is set again because the umask may have widened nothing but could
  // have narrowed it; a secret key must be exactly 0600.
  bool ok = fchmod(fd, mode) == 0 && write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!ok) error = errno_text("cannot write " + path);
  if (close(fd) != 0 && ok) { error = errno_text("cannot write " + path); ok = false; }
  if (!ok) unlink(path.c_str());
  return ok;
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::try_map(const std::string& path, std::string& error) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) { error = errno_text("cannot open image " + path); return nullptr; }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    error = "image " + path + " is not a regular file";
    return nullptr;
  }
  if (st.st_size == 0) {
    close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* data = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) { error = errno_text("cannot map image " + path); return nullptr; }
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const uint8_t*>(data), st.st_size));
}

MappedFile::~MappedFile() {
  if (m_data) munmap(const_cast<uint8_t*>(m_data), m_size);
}

std::optional<TrustedKeys> load_trusted_keys(const std::string& dir, std::string& error) {
  DIR* d = opendir(dir.c_str());
  if (!d) { error = errno_text("cannot read --trusted-keys directory " + dir); return std::nullopt; }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pub") == 0) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  TrustedKeys t{dir, {}};
  for (const auto& name : names) {
    auto key = read_public_key(dir + "/" + name, error);
    if (!key) return std::nullopt;
    t.keys.push_back(*key);
  }
  return t;
}

std::optional<BootableImage> open_bootable(const std::string& path, SignaturePolicy policy,
                                           const TrustedKeys* trusted, std::string& error) {
  BootableImage b;
  b.path = path;
  b.file = MappedFile::try_map(path, error);
  if (!b.file) return std::nullopt;
  auto bytes = b.file->bytes();
  if (SealedImage::looks_like_elf(bytes)) {
    if (policy == SignaturePolicy::kRequireTrusted) {
      error = "image " + path + " is a bare ELF, not a sealed image, so it carries no signature (--require-signed)";
      return std::nullopt;
    }
    b.elf = bytes;
    return b;
  }
  auto opened = SealedImage::try_open(bytes);
  if (!opened.image) {
    error = refusal_text(path, opened.error);
    return std::nullopt;
  }
  const SealedImage& img = *opened.image;
  if (policy == SignaturePolicy::kRequireTrusted) {
    if (!img.is_signed()) {
      error = "image " + path + " is not signed (--require-signed); sign it with `atoll sign --key KEY " + path + "`";
      return std::nullopt;
    }
    bool known = trusted && std::find(trusted->keys.begin(), trusted->keys.end(), *img.signer()) != trusted->keys.end();
    if (!known) {
      error = "image " + path + " is signed by key " + to_hex(*img.signer()) + ", which is not among the trusted keys in " +
              (trusted ? trusted->directory : std::string("(none)"));
      return std::nullopt;
    }
  }
  b.elf = img.elf();
  b.archive = img.archive();
  b.manifest = img.manifest();
  b.signer = img.signer();
  return b;
}

std::optional<PublicKey> read_public_key(const std::string& path, std::string& error) {
  return read_key_file<32>(path, kPublicPrefix, "public", error);
}

std::optional<SecretKey> read_secret_key(const std::string& path, std::string& error) {
  auto k = read_key_file<64>(path, kSecretPrefix, "secret", error);
  if (k && !secret_key_consistent(*k)) {
    error = path + " is damaged: its public half does not belong to its seed";
    return std::nullopt;
  }
  return k;
}

bool write_keypair(const std::string& base, const KeyPair& keys, std::string& error) {
  std::string secret = base + ".key", pub = base + ".pub";
  struct stat st;
  for (const auto& p : {secret, pub})
    if (lstat(p.c_str(), &st) == 0) { error = p + " exists; not overwriting a key"; return false; }
  if (!write_new_file(secret, kSecretPrefix + to_hex(keys.secret_key) + "\n", 0600, error)) return false;
  if (!write_new_file(pub, kPublicPrefix + to_hex(keys.public_key) + "\n", 0644, error)) {
    unlink(secret.c_str());
    return false;
  }
  return true;
}

bool write_file_atomic(const std::string& path, std::initializer_list<std::span<const uint8_t>> pieces, int mode,
                       std::string& error) {
  std::string tmp = path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back(0);
  int fd = mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) { error = errno_text("cannot create a file beside " + path); return false; }
  bool ok = true;
  for (std::span<const uint8_t> bytes : pieces) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += n;
    }
    ok = ok && done == bytes.size();
  }
  ok = ok && fchmod(fd, mode) == 0;
  if (!ok) error = errno_text("cannot write " + path);
  if (close(fd) != 0 && ok) { error = errno_text("cannot write " + path); ok = false; }
  if (ok && rename(name.data(), path.c_str()) != 0) { error = errno_text("cannot rename into " + path); ok = false; }
  if (!ok) unlink(name.data());
  return ok;
}

}  // namespace atl::hv::image
