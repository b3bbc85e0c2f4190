// Records the largest single allocation made through operator new while a probe is active, to show
// that the reader rejects absurd sizes before it allocates them.
#pragma once

#include <cstddef>

namespace crcore::image::testing {

class AllocationProbe {
 public:
  AllocationProbe();
  ~AllocationProbe();
  size_t largest() const;
};

}  // namespace crcore::image::testing
