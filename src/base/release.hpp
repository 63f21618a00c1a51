// Frees what a container holds, now. `container = {}` does not for a
// std::vector: it picks the initializer-list assignment, which empties the
// vector and keeps its capacity, and a large selection's code is megabytes.
#pragma once

#include <utility>

namespace p0fbpf {

template <class Container>
void release(Container& container) {
  Container().swap(container);
}

}  // namespace p0fbpf
