// Errors are values: Result<T> holds a T or an Errno. Hypercall failures map from
// Xen's -XEN_E* codes once, at the hypercall layer.
#pragma once

#include <stdint.h>

#include <new>
#include <utility>

namespace atl {

// The values are Xen's (xen/errno.h), which are Linux's on x86.
enum class Errno : int {
  kPerm = 1,
  kNoEnt = 2,
  kSrch = 3,
  kIo = 5,
  kBadF = 9,
  kAgain = 11,
  kNoMem = 12,
  kAcces = 13,
  kFault = 14,
  kBusy = 16,
  kExist = 17,
  kNoDev = 19,
  kInval = 22,
  kNoSpc = 28,
  kRange = 34,
  kNoSys = 38,
  kNotEmpty = 39,
  kTooBig = 7,
  kNoExec = 8,
  kOverflow = 75,
  kTimedOut = 110,
  kOpNotSupp = 95,
};

inline constexpr int to_int(Errno e) { return static_cast<int>(e); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_ok(true) { new (&m_value) T(std::move(value)); }
  Result(Errno error) : m_ok(false), m_error(error) {}
  Result(const Result& other) : m_ok(other.m_ok) {
    if (m_ok) new (&m_value) T(other.m_value); else m_error = other.m_error;
  }
  Result(Result&& other) : m_ok(other.m_ok) {
    if (m_ok) new (&m_value) T(std::move(other.m_value)); else m_error = other.m_error;
  }
  Result& operator=(Result other) {
    this->~Result();
    new (this) Result(std::move(other));
    return *this;
  }
  ~Result() { if (m_ok) m_value.~T(); }

  bool ok() const { return m_ok; }
  Errno error() const { return m_error; }
  T& value() & { return m_value; }
  const T& value() const& { return m_value; }
  T&& value() && { return std::move(m_value); }
  T* operator->() { return &m_value; }
  const T* operator->() const { return &m_value; }
  T& operator*() { return m_value; }

 private:
  bool m_ok;
  union {
    T m_value;
    Errno m_error;
  };
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : m_ok(true), m_error(Errno::kInval) {}
  Result(Errno error) : m_ok(false), m_error(error) {}
  bool ok() const { return m_ok; }
  Errno error() const { return m_error; }

 private:
  bool m_ok;
  Errno m_error;
};

// Turns a Xen hypercall return (>= 0 success, -errno failure) into a Result.
inline Result<long> from_xen(long rc) {
  if (rc < 0) return static_cast<Errno>(-rc);
  return rc;
}

}  // namespace atl
