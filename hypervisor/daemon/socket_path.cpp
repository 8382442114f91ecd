#include "socket_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace atl::hv::fleet {

namespace {

bool is_dir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string default_socket_path() {
  if (const char* env = getenv("ATOLL_SOCKET"); env && *env) return env;
  std::string uid = std::to_string(getuid());
  if (const char* xdg = getenv("XDG_RUNTIME_DIR"); xdg && *xdg && is_dir(xdg)) return std::string(xdg) + "/atoll/atoll.sock";
  if (is_dir("/run/user/" + uid)) return "/run/user/" + uid + "/atoll/atoll.sock";
  return "/tmp/atoll-" + uid + "/atoll.sock";
}

bool prepare_socket_dir(const std::string& socket_path, bool named_by_user, std::string& error) {
  std::string dir = parent_of(socket_path);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    error = "cannot make the socket directory " + dir + ": " + strerror(errno);
    return false;
  }
  if (named_by_user) return true;
  // The default directory may sit in a shared /tmp: someone else's, or one
  // others can write to, could hand our clients a socket of theirs.
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = dir + " is not a directory";
    return false;
  }
  if (st.st_uid != getuid() || (st.st_mode & 0077)) {
    error = "the socket directory " + dir + " must belong to uid " + std::to_string(getuid()) +
            " with mode 0700 (it has uid " + std::to_string(st.st_uid) + ", mode " +
            std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")";
    return false;
  }
  return true;
}

}  // namespace atl::hv::fleet
