#include "traffic.h"

#include <algorithm>

#include "lower_api.h"
#include "objects.h"

namespace crmpi {

Traffic g_traffic;

void Traffic::resize(int world_size) {
  sent_to.resize(static_cast<size_t>(world_size), 0);
  received_from.resize(static_cast<size_t>(world_size), 0);
}

const Drained* Traffic::find(const VComm* comm, int source, int tag) const {
  for (const Drained& m : drained) {
    if (m.comm == comm && (source == MPI_ANY_SOURCE || source == m.source) && (tag == MPI_ANY_TAG || tag == m.tag)) {
      return &m;
    }
  }
  return nullptr;
}

void Traffic::fill_status(const Drained& message, MPI_Status* status) const {
  if (status == MPI_STATUS_IGNORE) {
    return;
  }
  status->MPI_SOURCE = message.source;
  status->MPI_TAG = message.tag;
  status->MPI_ERROR = MPI_SUCCESS;
  status->_cancelled = 0;
  status->_ucount = message.bytes.size();
}

int Traffic::deliver(const Drained* message, void* buffer, int count, MPI_Datatype upper, MPI_Status* status) {
  auto it = std::find_if(drained.begin(), drained.end(), [&](const Drained& m) { return &m == message; });
  Drained m = std::move(*it);
  drained.erase(it);
  int position = 0;
  int rc = MPI_SUCCESS;
  if (!m.bytes.empty()) {
    int capacity = 0;
    check(lower.Pack_size(count, real_type(upper, "receive"), m.comm->real, &capacity), "MPI_Pack_size");
    if (static_cast<size_t>(capacity) < m.bytes.size()) {
      rc = MPI_ERR_TRUNCATE;
    } else {
      // MPI_Unpack takes exactly `count` items: as many whole items as the message holds.
      MPI_Datatype real = real_type(upper, "receive");
      int item = 0;
      check(lower.Type_size(real, &item), "MPI_Type_size");
      int items = item > 0 ? static_cast<int>(m.bytes.size() / static_cast<size_t>(item)) : 0;
      rc = lower.Unpack(m.bytes.data(), static_cast<int>(m.bytes.size()), &position, buffer,
                        items < count ? items : count, real, m.comm->real);
    }
  }
  fill_status(m, status);
  if (status != MPI_STATUS_IGNORE) {
    status->MPI_ERROR = rc;
  }
  return rc;
}

}  // namespace crmpi
