// The syntax of Xen's domain config files, xl.cfg(5), read into settings
// (KEY = VALUE, in order, with the line each came from). What the keys mean is
// domain_spec.h's business; this file knows only the grammar:
//
//   file      := { NEWLINE | ';' | setting ( NEWLINE | ';' | end ) }
//   setting   := KEY ( '=' | '+=' ) value
//   value     := NUMBER | STRING | '[' { NEWLINE } [ value { NEWLINE }
//                { ',' { NEWLINE } value { NEWLINE } } [ ',' { NEWLINE } ] ] ']'
//   KEY       := a letter, then letters, digits, '.' or '_'
//   NUMBER    := a digit, then letters or digits (kept as text; the key reads it)
//   STRING    := '...' or "..." on one line, with \\ \' \" \a \b \f \n \r \t \v
//                and \xHH escapes
//   '#' to the end of the line is a comment; spaces and tabs separate.
//
// Where we differ from xl, on purpose: the first error ends the reading (xl
// goes on and reports several), a key set twice with '=' is an error (xl keeps
// the last), octal escapes (\101) are refused because xl reads their digits
// as decimal, a NUL in a string is refused, and a last line or comment needs
// no newline. Lists may nest, as in xl, up to kMaxListDepth.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace atl::hv::cfg {

constexpr unsigned kMaxListDepth = 8;

// Where a setting came from: "vm.cfg" and a line, or the command line (line 0).
struct Origin {
  std::string source;
  unsigned line = 0;
};

// Every error names its origin and, once known, the key: "vm.cfg:7: memory: ...".
struct Error {
  Origin origin;
  std::string key;
  std::string message;
  std::string to_string() const;
};

// A T or the Error that stopped its making.
template <typename T>
class [[nodiscard]] Parsed {
 public:
  Parsed(T value) : m_v(std::move(value)) {}
  Parsed(Error error) : m_v(std::move(error)) {}
  bool ok() const { return m_v.index() == 0; }
  T& value() { return std::get<0>(m_v); }
  const T& value() const { return std::get<0>(m_v); }
  const Error& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, Error> m_v;
};

struct Value {
  enum class Kind { kNumber, kString, kList };
  Kind kind = Kind::kString;
  std::string text;           // kNumber, kString
  std::vector<Value> items;   // kList
  Origin origin;              // where the value starts (list items keep theirs through '+=')
};

struct Setting {
  std::string key;
  Value value;
  bool append = false;  // '+=': adds to an earlier value of the key
  Origin origin;
};

// Reads a whole file's text; `source` names it in errors.
Parsed<std::vector<Setting>> parse_file(std::string_view text, const std::string& source);

// Reads one KEY=VALUE (or KEY+=VALUE) from the command line, as `xl create
// CFG KEY=VALUE...` takes them. A VALUE that does not start with a quote, a
// digit or '[' is one string as it stands, so `name=web` needs no quotes.
Parsed<Setting> parse_override(std::string_view text);

// The settings once merged: each key once, in the order first set.
// '=' on a key already set in the same source is an error; a command-line
// setting replaces the file's; '+=' appends (list to list, string to string).
class SettingTable {
 public:
  // `from_command_line`: settings from the command line override the file's.
  std::optional<Error> add(Setting setting, bool from_command_line);
  const std::vector<Setting>& settings() const { return m_settings; }

 private:
  std::vector<Setting> m_settings;
  std::vector<bool> m_from_command_line;
};

// A value written back in the file's syntax ('...' with escapes, or [ ... ]).
std::string format_value(const Value& value);
std::string quote_string(std::string_view text);

}  // namespace atl::hv::cfg
