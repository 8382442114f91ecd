// A terminal on stdin made raw for as long as the object lives (keys arrive
// as typed, unechoed) and restored however the verb ends. Output keeps its
// newline translation, so "\n" still starts a line.
#pragma once

#include <termios.h>
#include <unistd.h>

namespace atl::hv::fleet {

class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &m_saved) != 0) return;
    termios raw = m_saved;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;
    m_active = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (m_active) tcsetattr(STDIN_FILENO, TCSANOW, &m_saved);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return m_active; }

 private:
  termios m_saved{};
  bool m_active = false;
};

}  // namespace atl::hv::fleet
