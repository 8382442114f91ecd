// From a request-target to a path inside the document root, and back to URL and
// HTML text for redirects and directory listings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace atl::httpd {

struct UrlPath {
  // Decoded and normalised: starts with '/', no empty, "." or ".." segments, no
  // trailing slash (except the root itself, "/"). Never leaves the root.
  std::string path;
  // The request named a directory form ("/docs/", "/docs/."), which decides
  // between serving a directory and redirecting to its slash form.
  bool trailing_slash = false;
};

// Parses an origin-form ("/a/b?q") or absolute-form ("http://host/a/b") target:
// drops the query, percent-decodes, resolves "." and "..". nullopt when the target
// is malformed (bad %-escape, encoded NUL, not a path) or ".." climbs above the
// root: the caller answers 400 either way.
std::optional<UrlPath> normalize_target(std::string_view target);

// Percent-decodes; nullopt for a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view text);

// Escapes everything but unreserved characters and '/', for Location and href.
std::string percent_encode_path(std::string_view path);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace atl::httpd
