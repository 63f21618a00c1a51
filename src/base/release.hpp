// Frees what a container holds, now. `container = {}` does not for a
// std::vector: it picks the initializer-list assignment, which empties the
// vector and keeps its capacity, and a large selection's code is megabytes.
#pragma once

#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace p0fbpf {

template <class Container>
void release(Container& container) {
  Container().swap(container);
}

// Gives the pages malloc keeps free back to the system (glibc's
// malloc_trim): small blocks freed by the thousand (a large program's IR)
// stay resident otherwise, and the memory used next adds to them. A walk
// over the heap: for large frees only.
inline void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace p0fbpf
