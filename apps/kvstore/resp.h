// RESP2, the Redis protocol: an incremental request parser (multibulk
// "*N\r\n$len\r\n...", and inline "telnet" lines split like Redis's
// sdssplitargs), and the reply builders. The same encoding is the payload of
// every log record, so the log replays through this parser too.
//
// Requests are hostile input: lengths are bounded (ParserLimits) and every
// malformed header is a protocol error, after which Redis replies once and
// closes the connection; the caller does the same.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "numbers.h"

namespace kv {

struct ParserLimits {
  static constexpr size_t kMaxInline = 64 * 1024;  // Redis's PROTO_INLINE_MAX_SIZE
  size_t max_bulk = 64u << 20;                     // bytes in one argument
  size_t max_args = 1u << 20;                      // arguments in one multibulk
};

class RequestParser {
 public:
  enum class Status : uint8_t { kNeedMore, kCommand, kError };

  explicit RequestParser(ParserLimits limits = {}) : m_limits(limits) {}

  // Parses from `data`, which starts where the previous call stopped, and sets
  // `consumed` to the bytes it took; the caller drops those from its buffer.
  // A bulk argument is taken as it arrives, so kNeedMore may consume too.
  // kCommand: args() holds one command (the next call starts another one).
  // kError: error() says why; the parser must not be used again.
  Status parse(std::string_view data, size_t& consumed);

  std::vector<std::string>& args() { return m_args; }
  // "ERR Protocol error: ..." (a reply without its leading '-').
  const std::string& error() const { return m_error; }
  // Bytes of arguments taken for the command in progress (for the client's
  // query buffer limit: a bulk argument is held here as it arrives).
  size_t partial_bytes() const { return m_state == State::kIdle ? 0 : m_partial_bytes; }
  // True between the first byte of a command and its end.
  bool mid_command() const { return m_state != State::kIdle; }

 private:
  enum class State : uint8_t { kIdle, kCount, kBulkHeader, kBulkBody };

  Status parse_inline(std::string_view data, size_t& consumed);
  // Finds a header line in `rest` as Redis does: the '\r' and one byte after.
  Status header_line(std::string_view rest, const char* too_big, std::string_view& line);
  Status fail(std::string_view what);

  ParserLimits m_limits;
  State m_state = State::kIdle;
  std::vector<std::string> m_args;
  size_t m_args_left = 0;
  size_t m_bulk_len = 0;
  size_t m_bulk_left = 0;  // bulk bytes plus the trailing CRLF still to take
  size_t m_partial_bytes = 0;
  std::string m_error;
};

// Splits an inline command line like Redis's sdssplitargs: blanks separate
// arguments; "double quotes" take \n \r \t \b \a \xHH and \<char> escapes;
// 'single quotes' take \'. False for unbalanced quotes (or a closing quote not
// followed by a blank).
bool split_inline_args(std::string_view line, std::vector<std::string>& args);

// Reply builders. Each appends one complete RESP2 reply to `out`.
namespace reply {
void ok(std::string& out);
void simple(std::string& out, std::string_view status);
// `message` without the '-': "ERR syntax error". CR and LF become spaces, as
// Redis does, so an error can never break the framing.
void error(std::string& out, std::string_view message);
void integer(std::string& out, int64_t value);
void bulk(std::string& out, std::string_view value);
void null(std::string& out);        // the nil bulk string, $-1
void null_array(std::string& out);  // the nil array, *-1
void array(std::string& out, size_t count);
}  // namespace reply

// One command as a RESP multibulk: the form of a log record's payload.
template <typename Range>
void append_command(std::string& out, const Range& args) {
  out += '*';
  append_int(out, static_cast<int64_t>(std::size(args)));
  out += "\r\n";
  for (const auto& arg : args) {
    std::string_view s(arg);
    out += '$';
    append_int(out, static_cast<int64_t>(s.size()));
    out += "\r\n";
    out += s;
    out += "\r\n";
  }
}

}  // namespace kv
