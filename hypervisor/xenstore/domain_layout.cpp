// The nodes a toolstack writes for a new domain, after libxl's
// libxl__domain_make() and libxl__build_post(). With D the domain id and
// "dom0 r/o" meaning permissions [n0, rD] (domain 0 owns it, the guest may
// read) and "guest" meaning [nD] (the guest owns it):
//
//   /vm/<uuid>                    dom0 r/o   uuid, name
//   /local/domain/D               dom0 r/o   vm = /vm/<uuid>, name, domid
//   /local/domain/D/memory        dom0 r/o   target, static-max (KiB)
//   /local/domain/D/device        dom0 r/o   (frontends are added per device)
//   /local/domain/D/control       dom0 r/o
//   /local/domain/D/control/{shutdown,feature-poweroff,feature-reboot,
//       feature-suspend,sysrq}    guest      empty; the host writes shutdown
//   /local/domain/D/device/suspend/event-channel  guest
//   /local/domain/D/{data,drivers,feature,attr,error}  guest
//
// So a guest reads all of its home, and writes (and creates nodes) only in
// the guest-owned parts, as under xl: it cannot rename itself or change its
// memory target. A split device adds, with domain 0 as the backend:
//
//   /local/domain/D/device/T/N            [nD, r0]  backend, backend-id, state
//   /local/domain/0/backend/T/D/N         [n0, rD]  frontend, frontend-id, online, state
#include <sys/random.h>

#include <cstdio>

#include "clock.h"
#include "xenstored.h"

namespace atl::hv::xs {

namespace {

std::string random_uuid() {
  uint8_t b[16] = {};
  if (getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    uint64_t x = monotonic_ns() | 1;  // unique enough without entropy
    for (uint8_t& byte : b) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      byte = static_cast<uint8_t>(x);
    }
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

Perms dom0_readonly(DomId domid) { return {Perm{kDom0, PermMode::kNone}, Perm{domid, PermMode::kRead}}; }
Perms guest_owned(DomId domid) { return {Perm{domid, PermMode::kNone}}; }

}  // namespace

void Xenstored::create_domain_layout(uint16_t domid, const std::string& name, uint64_t memory_kib) {
  DomId d(domid);
  std::string dom = domain_path(d);
  std::string vm = "/vm/" + random_uuid();
  in_transaction([&](Transaction* tx) {
    auto node = [&](const std::string& path, const std::string& value, const Perms& perms) {
      (void)m_core.write(kDom0, tx, path, value);
      (void)m_core.set_perms(kDom0, tx, path, perms);
    };
    (void)m_core.rm(kDom0, tx, dom);
    node(vm, "", dom0_readonly(d));
    node(vm + "/uuid", vm.substr(4), dom0_readonly(d));
    node(vm + "/name", name, dom0_readonly(d));
    node(dom, "", dom0_readonly(d));
    node(dom + "/vm", vm, dom0_readonly(d));
    node(dom + "/name", name, dom0_readonly(d));
    node(dom + "/domid", std::to_string(domid), dom0_readonly(d));
    node(dom + "/memory", "", dom0_readonly(d));
    node(dom + "/memory/static-max", std::to_string(memory_kib), dom0_readonly(d));
    node(dom + "/memory/target", std::to_string(memory_kib), dom0_readonly(d));
    node(dom + "/device", "", dom0_readonly(d));
    node(dom + "/control", "", dom0_readonly(d));
    for (const char* key : {"shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"})
      node(dom + "/control/" + key, "", guest_owned(d));
    node(dom + "/device/suspend", "", dom0_readonly(d));
    node(dom + "/device/suspend/event-channel", "", guest_owned(d));
    for (const char* dir : {"data", "drivers", "feature", "attr", "error"})
      node(dom + "/" + dir, "", guest_owned(d));
  });
}

void Xenstored::destroy_domain_layout(uint16_t domid) {
  std::string dom = domain_path(DomId(domid));
  in_transaction([&](Transaction* tx) {
    Result<std::string> vm = m_core.read(kDom0, tx, dom + "/vm");
    if (vm.ok() && vm.value().rfind("/vm/", 0) == 0) (void)m_core.rm(kDom0, tx, vm.value());
    (void)m_core.rm(kDom0, tx, dom);
    auto types = m_core.directory(kDom0, tx, "/local/domain/0/backend");
    if (!types.ok()) return;
    for (const std::string& type : types.value())
      (void)m_core.rm(kDom0, tx, "/local/domain/0/backend/" + type + "/" + std::to_string(domid));
  });
}

void Xenstored::create_device_layout(uint16_t domid, const std::string& type, uint32_t devid,
                                     const std::map<std::string, std::string>& backend_keys,
                                     const std::map<std::string, std::string>& frontend_keys) {
  DomId d(domid);
  std::string id = std::to_string(devid);
  std::string fe = domain_path(d) + "/device/" + type + "/" + id;
  std::string be = "/local/domain/0/backend/" + type + "/" + std::to_string(domid) + "/" + id;
  Perms fe_perms{Perm{d, PermMode::kNone}, Perm{kDom0, PermMode::kRead}};
  Perms be_perms{Perm{kDom0, PermMode::kNone}, Perm{d, PermMode::kRead}};
  in_transaction([&](Transaction* tx) {
    auto dir = [&](const std::string& path, const Perms& perms,
                   const std::map<std::string, std::string>& keys) {
      (void)m_core.rm(kDom0, tx, path);
      (void)m_core.mkdir(kDom0, tx, path);
      (void)m_core.set_perms(kDom0, tx, path, perms);
      for (const auto& [key, value] : keys) (void)m_core.write(kDom0, tx, path + "/" + key, value);
    };
    std::map<std::string, std::string> fe_keys{{"backend", be}, {"backend-id", "0"}, {"state", "1"}};
    std::map<std::string, std::string> be_keys{
        {"frontend", fe}, {"frontend-id", std::to_string(domid)}, {"online", "1"}, {"state", "1"}};
    for (const auto& kv : frontend_keys) fe_keys[kv.first] = kv.second;
    for (const auto& kv : backend_keys) be_keys[kv.first] = kv.second;
    dir(fe, fe_perms, fe_keys);
    dir(be, be_perms, be_keys);
  });
}

void Xenstored::destroy_device_layout(uint16_t domid, const std::string& type, uint32_t devid) {
  std::string id = std::to_string(devid);
  in_transaction([&](Transaction* tx) {
    (void)m_core.rm(kDom0, tx, domain_path(DomId(domid)) + "/device/" + type + "/" + id);
    (void)m_core.rm(kDom0, tx,
                    "/local/domain/0/backend/" + type + "/" + std::to_string(domid) + "/" + id);
  });
}

}  // namespace atl::hv::xs
