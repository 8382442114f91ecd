// Redis's glob patterns (KEYS, CONFIG GET): '*' any run, '?' one byte,
// "[abc]", "[^a]", "[a-z]" (a reversed range "[z-a]" works too), and '\'
// quoting the next character, inside a class as well. An unclosed '[' runs to
// the end of the pattern, as in Redis's stringmatchlen().
#pragma once

#include <string_view>

namespace kv {

enum class GlobCase : bool { kSensitive, kInsensitive };

bool glob_match(std::string_view pattern, std::string_view text, GlobCase mode = GlobCase::kSensitive);

}  // namespace kv
