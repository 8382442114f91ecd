// The guest's file-descriptor table. newlib's hooks (read, write, close, lseek,
// fstat, ...) look a descriptor up here and call its File; whoever opens
// something (the archive file system, the socket layer) installs a File and
// hands the app the number. Descriptors 0-2 are the console.
//
// Threads are cooperative, so the table needs no lock; a File's methods may
// block the calling thread.
#pragma once

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <memory>

namespace atl::fd {

// An open file description. Every method returns a count or 0 on success and a
// negative errno on failure; the defaults say the operation does not apply.
class File {
 public:
  virtual ~File() = default;
  virtual ssize_t read(void* buf, size_t len);
  virtual ssize_t write(const void* buf, size_t len);
  virtual ssize_t pread(void* buf, size_t len, off_t offset);
  virtual off_t lseek(off_t offset, int whence);
  virtual int fstat(struct stat* st);
  // Called once when the last descriptor goes; the File is destroyed after.
  virtual int close() { return 0; }
  // fcntl(F_GETFL/F_SETFL): the O_* status flags (O_NONBLOCK, O_APPEND, ...).
  virtual int status_flags() const { return m_flags; }
  virtual int set_status_flags(int flags) {
    m_flags = flags;
    return 0;
  }
  virtual bool is_tty() const { return false; }
  // The lwIP socket behind a socket descriptor, -1 for anything else.
  virtual int lwip_socket() const { return -1; }

 protected:
  int m_flags = 0;
};

// The lowest free descriptor >= 3 now holds `file`; -EMFILE when full.
int install(std::unique_ptr<File> file);
// The File behind `fd`, nullptr when none is open there.
File* get(int fd);
// Closes `fd`: File::close()'s result, or -EBADF.
int remove(int fd);
// One past the highest descriptor that may be open (for poll/select scans).
int limit();

constexpr int kMaxDescriptors = 65536;

}  // namespace atl::fd
