// Helpers for the xenstore daemon's tests: a connection that records what the
// daemon sends it, and a client that speaks the wire format to a Core.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "xenstored_core.h"
#include "xs_connection.h"
#include "xs_wire.h"

namespace atl::hv::xs::test {

// A client connection whose output is decoded into messages as it is flushed.
class FakeConnection : public Connection {
 public:
  FakeConnection(Core& core, DomId domid) : Connection(domid, core.flush_list()), m_core(core) {}
  ~FakeConnection() override { m_core.disconnect(*this); }

  void flush() override {
    while (!m_out.empty()) {
      const std::string& front = m_out.front();
      size_t off = m_out_offset;
      while (off < front.size()) {
        off += m_in.feed(front.data() + off, front.size() - off);
        if (m_in.ready()) received.push_back(m_in.take());
      }
      consumed(front.size() - m_out_offset);
    }
  }

  // Watch events received so far, as "path|token", and forgets them.
  std::vector<std::string> take_events() {
    m_core.flush();
    std::vector<std::string> out;
    std::vector<Message> rest;
    for (Message& m : received) {
      if (m.type() == MsgType::kWatchEvent) {
        SplitStrings s = split_strings(m.payload);
        out.push_back(s.strings.size() >= 2 ? std::string(s.strings[0]) + "|" + std::string(s.strings[1])
                                            : "malformed");
      } else {
        rest.push_back(std::move(m));
      }
    }
    received = std::move(rest);
    return out;
  }

  std::vector<Message> received;

 private:
  Core& m_core;
  MessageAssembler m_in;
};

inline std::string strings(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p).push_back('\0');
  return out;
}

// Sends requests as one domain and returns the reply: its payload, or
// "E:<NAME>" for an error reply. Strings in the payload are joined with NULs.
class Client {
 public:
  Client(Core& core, DomId domid) : m_core(core), conn(core, domid) {}

  std::string raw(uint32_t type, std::string payload, uint32_t tx_id = 0, uint32_t req_id = 7) {
    Message msg{MsgHeader{type, req_id, tx_id, static_cast<uint32_t>(payload.size())}, std::move(payload)};
    m_core.handle(conn, msg);
    m_core.flush();
    for (size_t i = 0; i < conn.received.size(); ++i) {
      Message m = conn.received[i];
      if (m.type() == MsgType::kWatchEvent) continue;
      conn.received.erase(conn.received.begin() + static_cast<long>(i));
      EXPECT_EQ(m.header.req_id, req_id) << "the reply echoes req_id";
      if (m.type() == MsgType::kError) return "E:" + m.payload.substr(0, m.payload.size() - 1);
      EXPECT_EQ(m.header.type, type) << "a reply has the request's type";
      return m.payload;
    }
    ADD_FAILURE() << "no reply to type " << type;
    return "<no reply>";
  }
  std::string call(MsgType type, std::initializer_list<std::string_view> args, uint32_t tx_id = 0) {
    return raw(static_cast<uint32_t>(type), strings(args), tx_id);
  }

  std::string read(std::string_view path, uint32_t tx = 0) { return call(MsgType::kRead, {path}, tx); }
  std::string write(std::string_view path, std::string_view value, uint32_t tx = 0) {
    std::string payload(path);
    payload.push_back('\0');
    payload.append(value);
    return raw(static_cast<uint32_t>(MsgType::kWrite), payload, tx);
  }
  std::string mkdir(std::string_view path, uint32_t tx = 0) { return call(MsgType::kMkdir, {path}, tx); }
  std::string rm(std::string_view path, uint32_t tx = 0) { return call(MsgType::kRm, {path}, tx); }
  std::string dir(std::string_view path, uint32_t tx = 0) { return call(MsgType::kDirectory, {path}, tx); }
  std::string get_perms(std::string_view path) { return call(MsgType::kGetPerms, {path}); }
  std::string set_perms(std::string_view path, std::initializer_list<std::string_view> perms) {
    std::string payload = strings({path});
    for (std::string_view p : perms) payload.append(p).push_back('\0');
    return raw(static_cast<uint32_t>(MsgType::kSetPerms), payload);
  }
  std::string watch(std::string_view path, std::string_view token) {
    return call(MsgType::kWatch, {path, token});
  }
  std::string unwatch(std::string_view path, std::string_view token) {
    return call(MsgType::kUnwatch, {path, token});
  }
  // The new transaction's id, or 0 (with a test failure) when refused.
  uint32_t start() {
    std::string r = call(MsgType::kTransactionStart, {""});
    if (r.rfind("E:", 0) == 0) {
      last_error = r;
      return 0;
    }
    return static_cast<uint32_t>(std::stoul(r));
  }
  std::string commit(uint32_t tx) { return call(MsgType::kTransactionEnd, {"T"}, tx); }
  std::string abort(uint32_t tx) { return call(MsgType::kTransactionEnd, {"F"}, tx); }
  std::vector<std::string> events() { return conn.take_events(); }

  std::string last_error;

 private:
  Core& m_core;

 public:
  FakeConnection conn;
};

inline const std::string kOK{"OK\0", 3};

// "a\0b\0" for a directory listing or any list of strings.
inline std::string list(std::initializer_list<std::string_view> names) { return strings(names); }

}  // namespace atl::hv::xs::test
