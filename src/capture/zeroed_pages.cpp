#include "capture/zeroed_pages.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <utility>

namespace p0fbpf {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

}  // namespace

ZeroedPages::ZeroedPages(std::size_t bytes) {
  if (bytes == 0) return;
  // Huge pages need 2 MiB alignment: map that much more and start at the
  // first boundary.
  bool huge = bytes >= kHugePage;
  mapped_ = huge ? bytes + kHugePage : bytes;
  // Huge pages must be asked for before the pages are populated: populated
  // at mmap, they would be ordinary pages.
  int populate = huge ? 0 : MAP_POPULATE;
  mapping_ = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | populate, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw std::bad_alloc();
  }
  auto start = reinterpret_cast<std::uintptr_t>(mapping_);
  if (huge) start = (start + kHugePage - 1) & ~(kHugePage - 1);
  data_ = reinterpret_cast<void*>(start);
  size_ = bytes;
  // Advice only: without transparent huge pages, ordinary pages serve, and
  // a kernel without MADV_POPULATE_WRITE (before 5.14) faults them in as
  // they are first written.
  if (huge) {
    madvise(data_, bytes, MADV_HUGEPAGE);
    madvise(data_, bytes, MADV_POPULATE_WRITE);
  }
}

ZeroedPages::ZeroedPages(ZeroedPages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

ZeroedPages& ZeroedPages::operator=(ZeroedPages&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

ZeroedPages::~ZeroedPages() { release(); }

void ZeroedPages::release() {
  if (mapping_) munmap(mapping_, mapped_);
  mapping_ = nullptr;
  data_ = nullptr;
}

}  // namespace p0fbpf
