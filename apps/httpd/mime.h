// Content-Type from a file name's extension.
#pragma once

#include <string_view>

namespace atl::httpd {

// The media type for `path` by its extension, compared case-insensitively;
// application/octet-stream for anything unknown or without an extension.
std::string_view mime_type_for(std::string_view path);

}  // namespace atl::httpd
