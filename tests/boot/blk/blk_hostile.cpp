// A hostile block frontend: its own ring on the real handshake, then requests
// with every field wrong (operation, segment count, segment sectors, sector
// range, grant refs never made, read-only or granted to another domain). Each
// must come back as an error and a good request still works. Then it overruns
// the ring index: the backend must disconnect the device (Closing), and the
// xenbus handshake brings it back, connected, on a fresh ring. Before any of
// that, its first handshakes offer broken rings (multi-page rings whose pages
// are scattered or repeated, or whose order or ring-ref%u keys are wrong, too
// many queues): the backend must refuse each (Closing) and connect to the
// good ring that follows. The guest exiting 0 under `atoll run` shows the
// hypervisor outlived all of it.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "blk/hostile_front.h"
#include "check.h"

using namespace atl;
using namespace atl::test;

namespace {

alignas(4096) uint8_t g_data[4096];

}  // namespace

int main() {
  xs::Client* client = xs::client();
  auto ids = client->directory("device/vbd");
  CHECK(ids.ok() && ids->size() == 1, "one vbd in xenstore");
  if (!ids.ok() || ids->empty()) return check_result("blk_hostile");
  HostileFront front;
  front.bad_rings = {BadRing::kScattered, BadRing::kRepeated, BadRing::kOrderTooBig, BadRing::kMissingRingRef,
                     BadRing::kTooManyQueues};
  auto dev = xs::XenbusDevice::try_create(*client, "device/vbd/" + (*ids)[0], front, xs::Handshake::kViaInitialised);
  CHECK(dev.ok() && (*dev)->start().ok(), "handshake started");
  CHECK(front.wait_for([](HostileFront& f) { return f.connected; }), "connected");
  CHECK(front.bad_offered == 5 && front.bad_connects == 0 && front.connects == 1,
        "5 broken ring layouts refused before the good one connected (%d offered)", front.bad_offered);
  front.saw_closing = false;
  auto sectors_text = client->read((*dev)->backend_key("sectors"));
  uint64_t sectors = sectors_text.ok() ? strtoull(sectors_text->c_str(), nullptr, 10) : 0;

  auto good = gnttab::grant_access(front.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadWrite);
  auto ro = gnttab::grant_access(front.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
  auto foreign = gnttab::grant_access(DomId(5), gnttab::virt_to_gfn(g_data), gnttab::Access::kReadWrite);
  CHECK(good.ok() && ro.ok() && foreign.ok(), "data grants");
  uint32_t g = good->value();

  auto expect = [&](const char* what, blkif_request req, int16_t want) {
    auto st = front.send(req);
    CHECK(st && *st == want, "%s: status %d", what, st ? *st : 99);
  };
  blkif_request r = read_request(g);
  r.operation = 99;
  expect("unknown operation", r, BLKIF_RSP_EOPNOTSUPP);
  auto discard = [](uint64_t sector, uint64_t n) {
    blkif_request_discard d{};
    d.operation = BLKIF_OP_DISCARD;
    d.sector_number = sector;
    d.nr_sectors = n;
    blkif_request req{};
    memcpy(&req, &d, sizeof d);
    return req;
  };
  expect("discard across the end", discard(sectors - 8, 16), BLKIF_RSP_ERROR);
  expect("discard wrapping around", discard(8, UINT64_MAX), BLKIF_RSP_ERROR);
  expect("discard of nothing", discard(0, 0), BLKIF_RSP_ERROR);
  r = read_request(g);
  r.nr_segments = 0;
  expect("no segments", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
  expect("12 segments", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.seg[0].first_sect = 5;
  r.seg[0].last_sect = 4;
  expect("first_sect > last_sect", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.seg[0].last_sect = 8;
  expect("last_sect past the page", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.sector_number = sectors;
  expect("sector past the end", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.sector_number = UINT64_MAX - 2;
  expect("sector range wrapping 2^64", r, BLKIF_RSP_ERROR);
  expect("a grant ref never made", read_request(4000), BLKIF_RSP_ERROR);
  expect("a grant ref past the table", read_request(0xFFFFFFF0u), BLKIF_RSP_ERROR);
  expect("a read into a read-only grant", read_request(ro->value()), BLKIF_RSP_ERROR);
  expect("a grant made to another domain", read_request(foreign->value()), BLKIF_RSP_ERROR);
  expect("a good read still works", read_request(g), BLKIF_RSP_OKAY);

  // XSA-216: Linux's blkback filled responses field by field, and the bytes
  // between the fields (blkif_response's padding at 9 and 12..15) reached the
  // guest with whatever was there. Here a response lands on the slot of its
  // request, whose id covers bytes 8..15: with an id of 0xA5 bytes, any
  // padding byte the backend did not write shows 0xA5, and a stale host byte
  // anything else. It must be zero.
  r = read_request(g);
  r.id = 0xA5A5A5A5A5A5A5A5ULL;
  expect("a read with a patterned id", r, BLKIF_RSP_OKAY);
  uint8_t raw[sizeof(blkif_response)];
  memcpy(raw, &front.last_response, sizeof raw);
  static_assert(sizeof(blkif_response) == 16 && offsetof(blkif_response, status) == 10, "ABI: xen/io/blkif.h");
  CHECK(front.last_response.id == r.id && front.last_response.operation == BLKIF_OP_READ, "the response names it");
  CHECK(raw[9] == 0 && raw[12] == 0 && raw[13] == 0 && raw[14] == 0 && raw[15] == 0,
        "the response's padding is zeroed (%02x %02x %02x %02x %02x)", raw[9], raw[12], raw[13], raw[14], raw[15]);

  // Overrun: claim a ring and a half of requests at once.
  auto* sring = static_cast<Ring::Shared*>(front.page);
  __atomic_store_n(&sring->header.req_prod, front.ring->req_prod_pvt().value() + Ring::kSize + 16, __ATOMIC_RELEASE);
  (void)evtchn::send(*front.port);
  CHECK(front.wait_for([](HostileFront& f) { return f.saw_closing; }), "the backend disconnected the overrun ring");
  CHECK(front.wait_for([](HostileFront& f) { return f.connected && f.connects == 2; }),
        "the device reconnected on a fresh ring");
  g_data[0] = 0xAB;
  expect("a read on the new ring works", read_request(g), BLKIF_RSP_OKAY);
  CHECK(g_data[0] == 0, "and it read the (zeroed) disk");
  return check_result("blk_hostile");
}
