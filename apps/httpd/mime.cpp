#include "mime.h"

#include "ascii.h"

namespace atl::httpd {
namespace {

struct MimeEntry {
  std::string_view extension;
  std::string_view type;
};

// Text types say their charset: the files we serve are written in UTF-8 and a
// browser would otherwise guess.
constexpr MimeEntry k_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
    {"xml", "application/xml"},
    {"woff2", "font/woff2"},
};

}  // namespace

std::string_view mime_type_for(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string_view ext = name.substr(dot + 1);
    for (const MimeEntry& e : k_types)
      if (iequals(ext, e.extension)) return e.type;
  }
  return "application/octet-stream";
}

}  // namespace atl::httpd
