// The point-to-point layer (Open MPI's pml component) a restarted rank starts its fresh lower half with.
//
// Open MPI's MPI_Init opens every pml component and lets each probe its hardware before choosing one:
// on a machine without Omni-Path or libfabric networks, the cm pml's probing of its psm, psm2 and ofi
// transports is most of MPI_Init (measured: 0.30 s of 0.33 s on Debian 12's Open MPI 4.1.4, 2 ranks).
// A restarted rank already knows the answer: the pml its checkpointed process was running. It names
// that pml to the new MPI_Init (OMPI_MCA_pml), unless the new job chooses one itself (an OMPI_MCA_pml
// in its environment, e.g. `ompi-restart --mca pml ...`). The choice is the one Open MPI made before,
// on the same kind of host; every rank of a job had made the same one.
#pragma once

namespace crmpi {

// After the lower half's MPI_Init: remembers which pml it selected (the component file its module's
// functions live in). Leaves the previous choice when it cannot tell (a pml built into libmpi).
void remember_selected_pml();

// In a restarted rank, before the new lower half is loaded (the environment it reads is the
// application's): sets OMPI_MCA_pml to the remembered pml if the new job's environment has none.
// CRCORE_MPI_KEEP_PML_PROBE=1 in the new job's environment turns this off (Open MPI probes every pml).
void choose_remembered_pml();

}  // namespace crmpi
