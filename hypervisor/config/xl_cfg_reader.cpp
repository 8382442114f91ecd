#include "xl_cfg_reader.h"

#include <cstdio>

namespace atl::hv::cfg {
namespace {

int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) { return is_letter(c) || is_digit(c) || c == '.' || c == '_'; }

std::string describe(const Token& t) {
  switch (t.kind) {
    case Token::kEnd: return "the end of the input";
    case Token::kNewline: return "the end of the line";
    case Token::kSemicolon: return "`;`";
    case Token::kKey: return "`" + t.text + "`";
    case Token::kNumber: return "the number " + t.text;
    case Token::kString: return "a string";
    case Token::kAssign: return "`=`";
    case Token::kAppend: return "`+=`";
    case Token::kComma: return "`,`";
    case Token::kOpen: return "`[`";
    case Token::kClose: return "`]`";
  }
  return "?";
}

Token Reader::next() {
  if (m_error) return make(Token::kEnd);
  while (m_pos < m_text.size()) {
    char c = m_text[m_pos];
    if (c == ' ' || c == '\t' || c == '\r') { ++m_pos; continue; }
    if (c == '#') {
      while (m_pos < m_text.size() && m_text[m_pos] != '\n') ++m_pos;
      continue;
    }
    if (c == '\n') {
      Token t = make(Token::kNewline);
      ++m_pos;
      if (m_origin.line) ++m_origin.line;
      return t;
    }
    size_t start = m_pos++;
    if (is_letter(c)) {
      while (m_pos < m_text.size() && is_key_char(m_text[m_pos])) ++m_pos;
      return make(Token::kKey, std::string(m_text.substr(start, m_pos - start)));
    }
    if (is_digit(c)) {
      while (m_pos < m_text.size() && (is_letter(m_text[m_pos]) || is_digit(m_text[m_pos]))) ++m_pos;
      return make(Token::kNumber, std::string(m_text.substr(start, m_pos - start)));
    }
    if (c == '\'' || c == '"') return string(c);
    if (c == '=') return make(Token::kAssign);
    if (c == '+' && m_pos < m_text.size() && m_text[m_pos] == '=') { ++m_pos; return make(Token::kAppend); }
    if (c == ',') return make(Token::kComma);
    if (c == '[') return make(Token::kOpen);
    if (c == ']') return make(Token::kClose);
    if (c == ';') return make(Token::kSemicolon);
    char shown[32];
    if (c > ' ' && c < 127) snprintf(shown, sizeof shown, "`%c`", c);
    else snprintf(shown, sizeof shown, "byte 0x%02x", static_cast<unsigned char>(c));
    fail(std::string("unexpected ") + shown + " (a value is a number, a 'string' or a [ list ])");
    return make(Token::kEnd);
  }
  return make(Token::kEnd);
}

Token Reader::string(char quote) {
  std::string out;
  while (m_pos < m_text.size()) {
    char c = m_text[m_pos++];
    if (c == quote) return make(Token::kString, std::move(out));
    if (c == '\n') break;
    if (c == '\0') { fail("a string holds a NUL byte"); return make(Token::kEnd); }
    if (c != '\\') { out += c; continue; }
    if (!escape(out)) return make(Token::kEnd);
  }
  fail(std::string("a string runs to the end of its line; the closing ") + quote + " is missing");
  return make(Token::kEnd);
}

// After a backslash: appends the character it stands for.
bool Reader::escape(std::string& out) {
  if (m_pos >= m_text.size() || m_text[m_pos] == '\n') {
    fail("a string ends in a lone backslash");
    return false;
  }
  char c = m_text[m_pos++];
  switch (c) {
    case '\\': case '\'': case '"': out += c; return true;
    case 'a': out += '\a'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'v': out += '\v'; return true;
    case 'x': {
      int hi = m_pos < m_text.size() ? hex_digit(m_text[m_pos]) : -1;
      int lo = m_pos + 1 < m_text.size() ? hex_digit(m_text[m_pos + 1]) : -1;
      if (hi < 0 || lo < 0) { fail("\\x takes two hex digits"); return false; }
      if (hi == 0 && lo == 0) { fail("a string holds a NUL byte (\\x00)"); return false; }
      m_pos += 2;
      out += static_cast<char>(hi * 16 + lo);
      return true;
    }
    default: break;
  }
  if (is_digit(c)) fail("octal escapes (\\" + std::string(1, c) + "..) are not taken; write \\xHH");
  else fail(std::string("unknown escape \\") + c + " in a string");
  return false;
}

Token Reader::skip_newlines() {
  Token t = next();
  while (t.kind == Token::kNewline) t = next();
  return t;
}

std::optional<Value> Reader::value(Token first, unsigned depth) {
  Value v;
  v.origin = where();
  v.origin.line = first.line;
  if (first.kind == Token::kNumber || first.kind == Token::kString) {
    v.kind = first.kind == Token::kNumber ? Value::Kind::kNumber : Value::Kind::kString;
    v.text = std::move(first.text);
    return v;
  }
  if (first.kind == Token::kKey) {
    fail("a value is a number, a 'string' or a [ list ], not the bare word `" + first.text + "` (quote it)", first.line);
    return std::nullopt;
  }
  if (first.kind != Token::kOpen) {
    fail("expected a value, found " + describe(first), first.line);
    return std::nullopt;
  }
  if (depth >= kMaxListDepth) {
    fail("lists nest deeper than " + std::to_string(kMaxListDepth));
    return std::nullopt;
  }
  v.kind = Value::Kind::kList;
  Token t = skip_newlines();
  while (t.kind != Token::kClose) {
    auto item = value(std::move(t), depth + 1);
    if (!item) return std::nullopt;
    v.items.push_back(std::move(*item));
    t = skip_newlines();
    if (t.kind == Token::kClose) break;
    if (t.kind != Token::kComma) {
      fail("expected `,` or `]` in a list, found " + describe(t), t.line);
      return std::nullopt;
    }
    t = skip_newlines();
  }
  return v;
}

}  // namespace atl::hv::cfg
