#include "xl_cfg.h"

#include <cstdio>

#include "xl_cfg_reader.h"

namespace atl::hv::cfg {

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
