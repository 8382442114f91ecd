#include "image_crypto.h"

// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP,
// which would link its provider and DSO machinery (dlopen) into a static
// atoll for one algorithm; these are the same code and stay in 3.x.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>

#include <cstring>

namespace atl::hv::image {

namespace {

static_assert(crypto_hash_sha256_BYTES == sizeof(Sha256));
static_assert(SHA256_DIGEST_LENGTH == sizeof(Sha256));
static_assert(sizeof(SHA256_CTX) <= 128 && alignof(SHA256_CTX) <= 8);
static_assert(crypto_sign_PUBLICKEYBYTES == sizeof(PublicKey));
static_assert(crypto_sign_SECRETKEYBYTES == sizeof(SecretKey));
static_assert(crypto_sign_BYTES == sizeof(Signature));

// What is signed: this context (with its NUL) and then the 32-byte digest.
constexpr char kSignatureContext[] = "atoll sealed image v1";

SHA256_CTX* ctx_of(uint8_t* raw) { return reinterpret_cast<SHA256_CTX*>(raw); }

std::array<uint8_t, sizeof kSignatureContext + 32> signed_message(const Sha256& digest) {
  std::array<uint8_t, sizeof kSignatureContext + 32> m{};
  std::memcpy(m.data(), kSignatureContext, sizeof kSignatureContext);
  std::memcpy(m.data() + sizeof kSignatureContext, digest.data(), digest.size());
  return m;
}

}  // namespace

bool crypto_ready() { return sodium_init() >= 0; }

// These cannot fail: no allocation, no provider.
Sha256Stream::Sha256Stream() { SHA256_Init(ctx_of(m_state)); }

void Sha256Stream::update(std::span<const uint8_t> bytes) { SHA256_Update(ctx_of(m_state), bytes.data(), bytes.size()); }

Sha256 Sha256Stream::finish() {
  Sha256 out;
  SHA256_Final(out.data(), ctx_of(m_state));
  return out;
}

Sha256 sha256(std::span<const uint8_t> bytes) {
  Sha256Stream s;
  s.update(bytes);
  return s.finish();
}

KeyPair generate_keypair() {
  KeyPair k;
  crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

PublicKey public_key_of(const SecretKey& secret) {
  // Derived from the seed, not copied from the key's second half, so a key
  // file whose halves disagree is caught (secret_key_consistent).
  PublicKey pk;
  SecretKey again;
  crypto_sign_seed_keypair(pk.data(), again.data(), secret.data());
  sodium_memzero(again.data(), again.size());
  return pk;
}

bool secret_key_consistent(const SecretKey& secret) {
  PublicKey derived = public_key_of(secret);
  return std::memcmp(derived.data(), secret.data() + 32, derived.size()) == 0;
}

Signature sign_digest(const Sha256& digest, const SecretKey& secret) {
  auto m = signed_message(digest);
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, m.data(), m.size(), secret.data());
  return sig;
}

bool verify_digest(const Sha256& digest, const Signature& signature, const PublicKey& key) {
  auto m = signed_message(digest);
  return crypto_sign_verify_detached(signature.data(), m.data(), m.size(), key.data()) == 0;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

bool from_hex(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace atl::hv::image
