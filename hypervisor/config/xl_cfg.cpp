#include "xl_cfg.h"

#include <cstdio>

namespace atl::hv::cfg {
namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) { return is_letter(c) || is_digit(c) || c == '.' || c == '_'; }

struct Token {
  enum Kind { kEnd, kNewline, kSemicolon, kKey, kNumber, kString, kAssign, kAppend, kComma, kOpen, kClose };
  Kind kind = kEnd;
  std::string text;
  unsigned line = 0;
};

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

// Tokens and values from one text; the first error is kept in m_error and
// every later call gives kEnd.
class Reader {
 public:
  // Lines are counted from origin.line; 0 (the command line) stays 0.
  Reader(std::string_view text, Origin origin) : m_text(text), m_origin(std::move(origin)) {}

  Token next();
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

int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
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

}  // namespace

std::string Error::to_string() const {
  std::string s = origin.source;
  if (origin.line) s += ":" + std::to_string(origin.line);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

Parsed<std::vector<Setting>> parse_file(std::string_view text, const std::string& source) {
  Reader r(text, Origin{source, 1});
  std::vector<Setting> settings;
  for (;;) {
    r.set_key("");
    Token t = r.next();
    if (t.kind == Token::kEnd) break;
    if (t.kind == Token::kNewline || t.kind == Token::kSemicolon) continue;
    if (t.kind != Token::kKey) {
      r.fail("expected KEY = VALUE, found " + describe(t), t.line);
      break;
    }
    Setting s;
    s.key = t.text;
    s.origin = Origin{source, t.line};
    r.set_key(s.key);
    Token op = r.next();
    if (op.kind != Token::kAssign && op.kind != Token::kAppend) {
      r.fail("expected `=` after the key, found " + describe(op), op.line);
      break;
    }
    s.append = op.kind == Token::kAppend;
    auto v = r.value(r.next());
    if (!v) break;
    s.value = std::move(*v);
    Token end = r.next();
    if (end.kind != Token::kNewline && end.kind != Token::kSemicolon && end.kind != Token::kEnd) {
      r.fail("expected the end of the line after the value, found " + describe(end), end.line);
      break;
    }
    settings.push_back(std::move(s));
    if (end.kind == Token::kEnd) break;
  }
  if (r.error()) return *r.error();
  return settings;
}

Parsed<Setting> parse_override(std::string_view text) {
  const Origin origin{"command line", 0};
  size_t end = 0;
  while (end < text.size() && is_key_char(text[end])) ++end;
  Setting s;
  s.key = std::string(text.substr(0, end));
  s.origin = origin;
  size_t eq = end;
  while (eq < text.size() && text[eq] == ' ') ++eq;
  s.append = text.substr(eq, 2) == "+=";
  if (s.key.empty() || !is_letter(s.key[0]) || (!s.append && text.substr(eq, 1) != "="))
    return Error{origin, "", "`" + std::string(text) + "` is not KEY=VALUE"};
  std::string_view rest = text.substr(eq + (s.append ? 2 : 1));
  while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  if (!rest.empty() && (rest[0] == '\'' || rest[0] == '"' || rest[0] == '[')) {
    Reader r(rest, origin);
    r.set_key(s.key);
    auto v = r.value(r.next());
    if (v) {
      Token t = r.next();
      while (t.kind == Token::kNewline) t = r.next();
      if (t.kind != Token::kEnd) r.fail("expected the end of the value, found " + describe(t), 0);
      else s.value = std::move(*v);
    }
    if (r.error()) return *r.error();
    return s;
  }
  // A bare value is taken as it stands: digits and letters starting with a
  // digit as a number, anything else as a string.
  bool number = !rest.empty() && is_digit(rest[0]);
  for (char c : rest) number = number && (is_digit(c) || is_letter(c));
  if (rest.find('\0') != std::string_view::npos) return Error{origin, s.key, "the value holds a NUL byte"};
  s.value.kind = number ? Value::Kind::kNumber : Value::Kind::kString;
  s.value.text = std::string(rest);
  s.value.origin = origin;
  return s;
}

std::optional<Error> SettingTable::add(Setting setting, bool from_command_line) {
  size_t i = 0;
  while (i < m_settings.size() && m_settings[i].key != setting.key) ++i;
  if (i == m_settings.size()) {
    m_settings.push_back(std::move(setting));
    m_from_command_line.push_back(from_command_line);
    return std::nullopt;
  }
  Setting& old = m_settings[i];
  if (setting.append) {
    bool old_list = old.value.kind == Value::Kind::kList, new_list = setting.value.kind == Value::Kind::kList;
    if (old_list != new_list)
      return Error{setting.origin, setting.key, "+= adds a list to a list or a string to a string, not one to the other"};
    if (new_list) {
      for (auto& item : setting.value.items) old.value.items.push_back(std::move(item));
    } else {
      old.value.text += setting.value.text;
      old.value.kind = Value::Kind::kString;
    }
    old.origin = setting.origin;
    m_from_command_line[i] = m_from_command_line[i] || from_command_line;
    return std::nullopt;
  }
  if (m_from_command_line[i] == from_command_line) {
    std::string first = old.origin.line ? "first on line " + std::to_string(old.origin.line) : "first earlier";
    return Error{setting.origin, setting.key,
                 from_command_line ? "given twice on the command line" : "set twice (" + first + "; += adds to a list)"};
  }
  old = std::move(setting);
  m_from_command_line[i] = true;
  return std::nullopt;
}

std::string quote_string(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\'' || c == '\\') out += std::string("\\") + c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string format_value(const Value& value) {
  switch (value.kind) {
    case Value::Kind::kNumber: return value.text;
    case Value::Kind::kString: return quote_string(value.text);
    case Value::Kind::kList: break;
  }
  if (value.items.empty()) return "[ ]";
  std::string out = "[ ";
  for (size_t i = 0; i < value.items.size(); ++i) out += (i ? ", " : "") + format_value(value.items[i]);
  return out + " ]";
}

}  // namespace atl::hv::cfg
