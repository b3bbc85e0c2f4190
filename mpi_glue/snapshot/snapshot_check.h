// check_snapshot: everything ompi-restart verifies before it starts a job from a snapshot.
#pragma once

#include <string>

#include "snapshot/snapshot_metadata.h"

namespace crcore::mpi {

// Reads DIR/metadata.json and checks every rank's image: present, a regular file, the size recorded, and
// fully valid for crcore's image reader (every record and checksum). Throws SnapshotError listing every
// problem found. Returns the metadata.
SnapshotMetadata check_snapshot(const std::string& dir);

}  // namespace crcore::mpi
