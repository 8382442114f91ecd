// libFuzzer target for kvstore's RESP request parser (apps/kvstore/resp.cpp):
// multibulk and inline commands as a client sends them. The input is the
// client's bytes after one control byte; they are parsed twice, whole and cut
// into the pieces a network would deliver (sizes drawn from the control
// byte), and both must yield the same commands and the same protocol error:
// the parser may not depend on where reads happen to end.
//
// Seeds: gen_app_corpus.py.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "resp.h"

namespace kv {
namespace {

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  std::string error;
};

// Limits small enough for inputs to reach them.
ParserLimits small_limits() {
  ParserLimits limits;
  limits.max_bulk = 512;
  limits.max_args = 32;
  return limits;
}

// Feeds `data` in pieces of the sizes `piece` returns, keeping unconsumed
// bytes buffered as the server's connection does.
template <typename Piece>
Outcome parse(std::string_view data, Piece piece) {
  Outcome out;
  RequestParser parser(small_limits());
  std::string buffer;
  size_t fed = 0;
  while (fed < data.size()) {
    size_t n = std::min(piece(), data.size() - fed);
    buffer.append(data.substr(fed, n));
    fed += n;
    for (;;) {
      size_t consumed = 0;
      RequestParser::Status status = parser.parse(buffer, consumed);
      if (consumed > buffer.size()) std::abort();
      buffer.erase(0, consumed);
      if (status == RequestParser::Status::kError) {
        out.error = parser.error();
        if (out.error.empty()) std::abort();
        return out;
      }
      if (status == RequestParser::Status::kNeedMore) break;
      // max_args bounds a multibulk; an inline command is bounded by its line.
      if (parser.args().size() > std::max(small_limits().max_args, ParserLimits::kMaxInline)) std::abort();
      out.commands.push_back(parser.args());
    }
  }
  return out;
}

}  // namespace
}  // namespace kv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Past kMaxInline bytes without a line end the parser refuses what it has
  // buffered, which then does depend on the pieces: compare smaller inputs.
  if (size == 0 || size > kv::ParserLimits::kMaxInline) return 0;
  uint32_t seed = data[0] | 1u;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  kv::Outcome whole = kv::parse(bytes, [&] { return bytes.size(); });
  kv::Outcome cut = kv::parse(bytes, [&] {
    seed = seed * 1103515245u + 12345u;  // any sequence will do; this one is cheap
    return size_t{1} + (seed >> 16) % 17;
  });
  if (whole.commands != cut.commands || whole.error != cut.error) std::abort();
  return 0;
}
