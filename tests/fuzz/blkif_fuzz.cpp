// libFuzzer target for blkback's request path: requests off the ring (one or
// several ring pages), check_request(), the segments gathered from the slot or
// from indirect pages (gather_segments), and the data pages mapped through the
// grant table, up to where blkback hands iovecs to the disk.
//
// The ring and every page are real guest memory behind real grants
// (fuzz_guest.h); mapping goes through GrantTable as in atoll. consume()
// mirrors BlkBack::consume_requests and BlkBack::start minus io_uring and the
// file (a request's I/O completes at once, so its grants are unmapped before
// the next is taken).
//
// The first byte picks the ring's pages (1 or 2) and whether grants are kept
// mapped (feature-persistent). Then ops, op & 7:
//   0  the guest rewrites a grant entry (fuzz_guest.h)
//   1  the guest writes bytes into a page
//   2  the guest puts requests on the ring: count, then 112 raw bytes each
//   3  the guest sets req_prod to any value
//   4  the guest notifies: blkback consumes the ring
// Seeds: gen_net_blk_corpus.py.
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "atoll/shared_ring.h"
#include "blkback_request.h"
#include "fuzz_guest.h"

namespace atl::hv {
namespace {

using fuzz::FuzzGuest;
using fuzz::FuzzInput;
using BlkRing = SharedRing<blkif_request, blkif_response>;

constexpr uint32_t kRingRef = FuzzGuest::kFirstRef;
// BlkBack::kMaxIndirectSegments and kMaxPersistentGrants.
constexpr unsigned kMaxIndirectSegments = 256;
constexpr size_t kMaxPersistentGrants = 64;
// A small disk, so ranges reach its end.
constexpr DiskGeometry kDisk{4096, false};

class RequestPath {
 public:
  RequestPath(GrantTable& gt, BlkRing* shared, uint32_t size, unsigned ring_pages, bool persistent)
      : m_gt(gt), m_ring(shared, size), m_ring_pages(ring_pages), m_persistent(persistent) {}
  ~RequestPath() {
    for (auto& [ref, mapping] : m_persistent_pages) m_gt.unmap(mapping.handle);
  }

  // BlkBack::consume_requests; false when blkback would disconnect.
  bool consume() {
    do {
      if (m_ring.overflowed()) return false;
      while (m_ring.unconsumed_requests()) start(m_ring.take_request());
    } while (m_ring.final_check_for_requests());
    (void)m_ring.push_responses();
    if (m_gt.mapping_count() != m_persistent_pages.size() + m_ring_pages) std::abort();  // a grant left mapped
    return true;
  }

 private:
  // BlkBack::start up to submit_io.
  void start(const blkif_request& req) {
    RequestCheck check = check_request(req, kDisk, RequestLimits{kMaxIndirectSegments, true});
    if (check != RequestCheck::kOk) return respond(req, BLKIF_RSP_ERROR);
    uint8_t data_op = data_operation(req);
    bool sync = req.operation == BLKIF_OP_FLUSH_DISKCACHE || req.operation == BLKIF_OP_WRITE_BARRIER;
    bool writable = (sync ? BLKIF_OP_WRITE : data_op) == BLKIF_OP_READ;
    std::vector<uint64_t> handles;
    int16_t status = BLKIF_RSP_OKAY;
    if (req.operation != BLKIF_OP_DISCARD) {
      blkif_request_segment segs[kMaxIndirectSegments];
      GatheredSegments g = gather_segments(req, kDisk, segs, [&](uint32_t gref) {
        return map_page(GrantRef(gref), false, handles);
      });
      if (g.refused_page || g.check != RequestCheck::kOk) status = BLKIF_RSP_ERROR;
      uint64_t sectors = 0;
      for (unsigned i = 0; status == BLKIF_RSP_OKAY && i < g.count; ++i) {
        const blkif_request_segment& s = segs[i];
        uint8_t* page = map_page(GrantRef(s.gref), writable, handles);
        if (!page) {
          status = BLKIF_RSP_ERROR;
          break;
        }
        // What blkback turns into an iovec must lie inside the mapped page.
        size_t offset = s.first_sect * 512u, length = (s.last_sect - s.first_sect + 1u) * 512u;
        if (s.first_sect > s.last_sect || offset + length > 4096) std::abort();
        std::memset(page + offset, 0xA5, writable ? length : 0);  // a read fills the guest's pages
        sectors += length / 512;
      }
      // A bare flush or barrier names no sectors: its sector_number means nothing.
      uint64_t start = req.operation == BLKIF_OP_INDIRECT ? as_indirect(req).sector_number : req.sector_number;
      if (status == BLKIF_RSP_OKAY && g.count > 0 && (start > kDisk.sectors || sectors > kDisk.sectors - start))
        std::abort();
    } else if (req.sector_number > kDisk.sectors || request_sectors(req) > kDisk.sectors - req.sector_number) {
      std::abort();
    }
    for (uint64_t h : handles) m_gt.unmap(h);
    respond(req, status);
  }

  // BlkBack::map_page.
  uint8_t* map_page(GrantRef ref, bool writable, std::vector<uint64_t>& handles) {
    if (m_persistent) {
      if (auto it = m_persistent_pages.find(ref.value()); it != m_persistent_pages.end()) return it->second.page.data();
      if (m_persistent_pages.size() < kMaxPersistentGrants) {
        if (auto map = m_gt.map(ref, DomId(0), true); map.ok()) {
          m_persistent_pages.emplace(ref.value(), *map);
          return map->page.data();
        }
      }
    }
    auto map = m_gt.map(ref, DomId(0), writable);
    if (!map.ok()) return nullptr;
    handles.push_back(map->handle);
    return map->page.data();
  }

  void respond(const blkif_request& req, int16_t status) {
    blkif_response rsp{};
    rsp.id = req.id;
    rsp.operation = data_operation(req);
    rsp.status = status;
    m_ring.put_response(rsp);
  }

  GrantTable& m_gt;
  BackRing<blkif_request, blkif_response> m_ring;
  unsigned m_ring_pages;
  bool m_persistent;
  std::map<uint32_t, GrantTable::Mapping> m_persistent_pages;
};

void run(const uint8_t* data, size_t size) {
  FuzzGuest& guest = FuzzGuest::instance();
  GrantTable& gt = guest.reset();
  FuzzInput in(data, size);
  uint8_t setup = in.byte();
  unsigned ring_pages = (setup & 1) ? 2 : 1;
  bool persistent = (setup & 2) != 0;
  // What a frontend sets up before it connects: the ring on the first pages,
  // the others granted writable for data and indirect segments.
  for (unsigned n = 0; n < FuzzGuest::kPages; ++n) guest.grant(kRingRef + n, n, false);
  // One host mapping per ring page, adjacent because guest memory is one
  // mapping (BlkBack::map_ring refuses anything else).
  std::vector<uint64_t> ring_maps;
  uint8_t* first = nullptr;
  for (unsigned p = 0; p < ring_pages; ++p) {
    auto map = gt.map(GrantRef(kRingRef + p), DomId(0), true);
    if (!map.ok() || (p > 0 && map->page.data() != first + p * 4096)) std::abort();
    if (p == 0) first = map->page.data();
    ring_maps.push_back(map->handle);
  }
  auto* shared = reinterpret_cast<BlkRing*>(first);
  uint32_t ring_size = BlkRing::size_for_pages(ring_pages);
  {
    RequestPath path(gt, shared, ring_size, ring_pages, persistent);
    RingIdx req_prod(0);
    bool connected = true;
    while (connected && !in.empty()) {
      switch (in.byte() & 7) {
        case 0: guest.poke_entry(in); break;
        case 1: guest.poke_memory(in); break;
        case 2:
          for (unsigned n = in.byte(); n > 0 && !in.empty(); --n) {
            blkif_request req{};
            auto raw = in.take(sizeof req);
            std::memcpy(&req, raw.data(), raw.size());
            std::memcpy(&shared->entry(req_prod.slot(ring_size)).req, &req, sizeof req);
            ++req_prod;
            shared->header.req_prod = req_prod.value();
          }
          break;
        case 3:
          req_prod = RingIdx(in.u32());
          shared->header.req_prod = req_prod.value();
          break;
        case 4: connected = path.consume(); break;
        default: break;
      }
    }
  }
  for (uint64_t h : ring_maps) gt.unmap(h);
}

}  // namespace
}  // namespace atl::hv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  atl::hv::run(data, size);
  return 0;
}
