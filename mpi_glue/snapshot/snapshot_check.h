// check_snapshot: everything ompi-restart verifies before it starts a job from a snapshot.
#pragma once

#include <string>
#include <vector>

#include "snapshot/snapshot_metadata.h"

namespace crcore::mpi {

// Reads DIR/metadata.json and checks every rank's image: present, a regular file, the size recorded, and
// fully valid for crcore's image reader (every record and checksum). Throws SnapshotError listing every
// problem found. Returns the metadata.
//
// proofs: when given, set to one validation proof per rank (image/validation_proof.h, its text form):
// that rank's image was fully validated here, bound to the file as it was read; "" for an image too
// recently changed to be given one (kProofSettleNs) or changed while it was read.
SnapshotMetadata check_snapshot(const std::string& dir, std::vector<std::string>* proofs = nullptr);

}  // namespace crcore::mpi
