// The tokens and values of xl.cfg's grammar (xl_cfg.h), read from one text.
// Private to xl_cfg.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "xl_cfg.h"

namespace atl::hv::cfg {

bool is_letter(char c);
bool is_digit(char c);
bool is_key_char(char c);

struct Token {
  enum Kind { kEnd, kNewline, kSemicolon, kKey, kNumber, kString, kAssign, kAppend, kComma, kOpen, kClose };
  Kind kind = kEnd;
  std::string text;
  unsigned line = 0;
};

// "`=`", "a string", "the end of the line": a token for an error message.
std::string describe(const Token& t);

// Tokens and values from one text; the first error is kept in m_error and
// every later call gives kEnd.
class Reader {
 public:
  // Lines are counted from origin.line; 0 (the command line) stays 0.
  Reader(std::string_view text, Origin origin) : m_text(text), m_origin(std::move(origin)) {}

  Token next();
  // The value that starts with `first`: a number, a string, or a list read to
  // its `]` (lists nest up to kMaxListDepth); nullopt once an error is kept.
  std::optional<Value> value(Token first, unsigned depth = 0);

  // Keeps the first error, at the line of the token it is about.
  void fail(std::string message, unsigned line) {
    if (!m_error) m_error = Error{Origin{m_origin.source, line}, m_key, std::move(message)};
  }
  void fail(std::string message) { fail(std::move(message), m_origin.line); }
  const std::optional<Error>& error() const { return m_error; }
  void set_key(std::string key) { m_key = std::move(key); }
  Origin where() const { return m_origin; }

 private:
  Token make(Token::Kind kind, std::string text = {}) { return Token{kind, std::move(text), m_origin.line}; }
  Token string(char quote);
  bool escape(std::string& out);
  Token skip_newlines();

  std::string_view m_text;
  size_t m_pos = 0;
  Origin m_origin;
  std::string m_key;
  std::optional<Error> m_error;
};

}  // namespace atl::hv::cfg
