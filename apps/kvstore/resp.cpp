#include "resp.h"

#include <algorithm>

namespace kv {

namespace {

constexpr size_t kReserveCap = 1u << 20;  // never trust an announced size with more memory

}  // namespace

RequestParser::Status RequestParser::fail(std::string_view what) {
  m_error = "ERR Protocol error: ";
  m_error += what;
  return Status::kError;
}

RequestParser::Status RequestParser::header_line(std::string_view rest, const char* too_big,
                                                 std::string_view& line) {
  size_t cr = rest.find('\r');
  if (cr == std::string_view::npos) return rest.size() > ParserLimits::kMaxInline ? fail(too_big) : Status::kNeedMore;
  if (cr + 2 > rest.size()) return Status::kNeedMore;
  line = rest.substr(0, cr);
  return Status::kCommand;  // "a line is ready"; Redis skips the byte after '\r' unchecked
}

RequestParser::Status RequestParser::parse(std::string_view data, size_t& consumed) {
  consumed = 0;
  for (;;) {
    std::string_view rest = data.substr(consumed);
    switch (m_state) {
      case State::kIdle:
        if (rest.empty()) return Status::kNeedMore;
        m_args.clear();
        m_partial_bytes = 0;
        if (rest[0] != '*') {
          size_t used = 0;
          Status s = parse_inline(rest, used);
          consumed += used;
          if (s == Status::kNeedMore && used > 0) continue;  // an empty line was skipped
          return s;
        }
        m_state = State::kCount;
        break;
      case State::kCount: {
        std::string_view line;
        Status s = header_line(rest, "too big mbulk count string", line);
        if (s != Status::kCommand) return s;
        auto n = parse_int(line.substr(1));
        if (!n || *n > static_cast<int64_t>(m_limits.max_args)) return fail("invalid multibulk length");
        consumed += line.size() + 2;
        if (*n <= 0) {  // "*0" and "*-1" are empty commands, skipped
          m_state = State::kIdle;
          break;
        }
        m_args_left = static_cast<size_t>(*n);
        m_args.reserve(std::min<size_t>(m_args_left, 1024));
        m_state = State::kBulkHeader;
        break;
      }
      case State::kBulkHeader: {
        std::string_view line;
        Status s = header_line(rest, "too big bulk count string", line);
        if (s != Status::kCommand) return s;
        if (line.empty() || line[0] != '$') {
          std::string what = "expected '$', got '";
          what += rest[0];
          return fail(what + "'");
        }
        auto n = parse_int(line.substr(1));
        if (!n || *n < 0 || static_cast<uint64_t>(*n) > m_limits.max_bulk) return fail("invalid bulk length");
        consumed += line.size() + 2;
        m_bulk_len = static_cast<size_t>(*n);
        m_bulk_left = m_bulk_len + 2;
        m_args.emplace_back();
        m_args.back().reserve(std::min(m_bulk_len, kReserveCap));
        m_state = State::kBulkBody;
        break;
      }
      case State::kBulkBody: {
        if (rest.empty()) return Status::kNeedMore;
        size_t take = std::min(rest.size(), m_bulk_left);
        std::string& arg = m_args.back();
        size_t body = std::min(take, m_bulk_len - arg.size());
        arg.append(rest.data(), body);
        m_partial_bytes += body;
        m_bulk_left -= take;
        consumed += take;
        if (m_bulk_left > 0) return Status::kNeedMore;
        if (--m_args_left > 0) {
          m_state = State::kBulkHeader;
          break;
        }
        m_state = State::kIdle;
        return Status::kCommand;
      }
    }
  }
}

RequestParser::Status RequestParser::parse_inline(std::string_view data, size_t& consumed) {
  size_t nl = data.find('\n');
  if (nl == std::string_view::npos)
    return data.size() > ParserLimits::kMaxInline ? fail("too big inline request") : Status::kNeedMore;
  std::string_view line = data.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!split_inline_args(line, m_args)) return fail("unbalanced quotes in request");
  consumed = nl + 1;
  return m_args.empty() ? Status::kNeedMore : Status::kCommand;
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
  }
}

// One argument starting at line[i] (not blank); sets `i` past it.
bool split_one(std::string_view line, size_t& i, std::string& arg) {
  enum class Quote { kNone, kDouble, kSingle } q = Quote::kNone;
  for (; i < line.size(); ++i) {
    char c = line[i];
    bool last = i + 1 == line.size();
    if (q == Quote::kDouble) {
      if (c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
          hex_value(line[i + 3]) >= 0) {
        arg += static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
        i += 3;
      } else if (c == '\\' && !last) {
        arg += unescape(line[++i]);
      } else if (c == '"') {
        if (!last && !is_blank(line[i + 1])) return false;  // closing quote must be followed by a blank
        q = Quote::kNone;
      } else {
        arg += c;
      }
    } else if (q == Quote::kSingle) {
      if (c == '\\' && !last && line[i + 1] == '\'') {
        arg += '\'';
        ++i;
      } else if (c == '\'') {
        if (!last && !is_blank(line[i + 1])) return false;
        q = Quote::kNone;
      } else {
        arg += c;
      }
    } else if (is_blank(c) || c == '\0') {
      return true;
    } else if (c == '"') {
      q = Quote::kDouble;
    } else if (c == '\'') {
      q = Quote::kSingle;
    } else {
      arg += c;
    }
  }
  return q == Quote::kNone;
}

}  // namespace

bool split_inline_args(std::string_view line, std::vector<std::string>& args) {
  args.clear();
  size_t i = 0;
  for (;;) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size() || line[i] == '\0') return true;  // sdssplitargs stops at a NUL
    args.emplace_back();
    if (!split_one(line, i, args.back())) {
      args.clear();
      return false;
    }
  }
}

namespace reply {

void ok(std::string& out) { out += "+OK\r\n"; }

void simple(std::string& out, std::string_view status) {
  out += '+';
  out += status;
  out += "\r\n";
}

void error(std::string& out, std::string_view message) {
  out += '-';
  size_t start = out.size();
  out += message;
  std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                  [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out += "\r\n";
}

void integer(std::string& out, int64_t value) {
  out += ':';
  append_int(out, value);
  out += "\r\n";
}

void bulk(std::string& out, std::string_view value) {
  out += '$';
  append_int(out, static_cast<int64_t>(value.size()));
  out += "\r\n";
  out += value;
  out += "\r\n";
}

void null(std::string& out) { out += "$-1\r\n"; }

void null_array(std::string& out) { out += "*-1\r\n"; }

void array(std::string& out, size_t count) {
  out += '*';
  append_int(out, static_cast<int64_t>(count));
  out += "\r\n";
}

}  // namespace reply

}  // namespace kv
