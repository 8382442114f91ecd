#include "url_path.h"

#include <vector>

#include "ascii.h"

namespace atl::httpd {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The path part of an absolute-form target, or the target itself.
std::optional<std::string_view> path_of(std::string_view target) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      std::string_view rest = target.substr(scheme.size());
      size_t slash = rest.find_first_of("/?");
      if (slash == std::string_view::npos) return std::string_view("/");
      if (rest[slash] == '?') return std::string_view("/");
      return rest.substr(slash);
    }
  }
  if (target.empty() || target[0] != '/') return std::nullopt;
  return target;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int hi = hex_value(text[i + 1]);
    int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<UrlPath> normalize_target(std::string_view target) {
  std::optional<std::string_view> raw = path_of(target);
  if (!raw) return std::nullopt;
  std::string_view path = *raw;
  path = path.substr(0, path.find_first_of("?#"));

  std::optional<std::string> decoded = percent_decode(path);
  if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;

  // Resolve segment by segment on the decoded text, so an encoded "%2e%2e" or
  // "%2f" cannot smuggle a ".." past the check.
  std::vector<std::string_view> segments;
  std::string_view rest = *decoded;
  bool trailing_slash = false;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (segments.empty()) return std::nullopt;  // would climb above the root
      segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    trailing_slash = last ? (seg.empty() || seg == "." || seg == "..") : true;
  }

  std::string joined;
  for (std::string_view seg : segments) {
    joined += '/';
    joined += seg;
  }
  return UrlPath{joined.empty() ? std::string(1, '/') : std::move(joined), trailing_slash};
}

std::string percent_encode_path(std::string_view path) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    unsigned char u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                      u == '.' || u == '_' || u == '~' || u == '/';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 15];
    }
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace atl::httpd
