// The only door to cryptography for sealed images: SHA-256 and Ed25519 from
// libsodium (Debian's libsodium-dev). Nothing here implements a primitive.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace atl::hv::image {

using Sha256 = std::array<uint8_t, 32>;
using PublicKey = std::array<uint8_t, 32>;
// libsodium's Ed25519 secret key: the 32-byte seed followed by the public key.
using SecretKey = std::array<uint8_t, 64>;
using Signature = std::array<uint8_t, 64>;

// False only if libsodium cannot initialise (no entropy source); call once
// before anything below.
bool crypto_ready();

// SHA-256 over bytes fed in any number of pieces, so large parts are hashed
// as they are read (a 64 MiB archive is never copied).
// SHA-256 from OpenSSL's libcrypto, whose x86-64 code uses the CPU's SHA
// extensions where it has them (0.7-1.7 GB/s on these machines against
// libsodium's portable 160 MB/s; verification is most of what sealing adds
// to a boot: bench/image/run.sh).
class Sha256Stream {
 public:
  Sha256Stream();
  void update(std::span<const uint8_t> bytes);
  Sha256 finish();

 private:
  alignas(8) uint8_t m_state[128];  // SHA256_CTX, checked in the .cpp
};

Sha256 sha256(std::span<const uint8_t> bytes);

struct KeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};
KeyPair generate_keypair();
// The public key belonging to a secret key's seed.
PublicKey public_key_of(const SecretKey& secret);
// Whether the public half stored in `secret` belongs to its seed.
bool secret_key_consistent(const SecretKey& secret);

// Signatures are over a context string followed by the image digest, so an
// Atoll image signature can never be mistaken for a signature over anything else.
Signature sign_digest(const Sha256& digest, const SecretKey& secret);
bool verify_digest(const Sha256& digest, const Signature& signature, const PublicKey& key);

// Lower-case hex and back (exact length, nothing around it).
std::string to_hex(std::span<const uint8_t> bytes);
bool from_hex(std::string_view text, std::span<uint8_t> out);

}  // namespace atl::hv::image
