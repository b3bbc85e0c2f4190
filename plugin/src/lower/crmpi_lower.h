/* The interface between the MPI layer's two halves. libcrmpi.so (the upper half's side, in the
 * application's link-map namespace) loads libcrmpi_lower.so with dlmopen(LM_ID_NEWLM): it depends on
 * the real libmpi, so the real MPI library, its own copy of libc and everything they load live in a
 * namespace of their own: the lower half. The shim reports what the lower half creates (memory,
 * threads, descriptors) through these hooks, so that checkpoints leave it out. Plain C. */
#ifndef CRMPI_LOWER_H
#define CRMPI_LOWER_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRMPI_LOWER_VERSION 1

struct crmpi_lower_hooks {
  int version; /* CRMPI_LOWER_VERSION */
  int (*exclude_memory)(const void* start, size_t length);
  int (*include_memory)(const void* start, size_t length);
  int (*exclude_thread)(pid_t tid);
  int (*exclude_fd)(int fd);
  int (*include_fd)(int fd);
};

/* Called once by the upper half right after dlmopen, before any MPI call. Returns 0, or -1 when the
 * versions differ. From then on everything the lower half maps, opens or starts is reported. */
int crmpi_lower_attach(const struct crmpi_lower_hooks* hooks);

/* Reports the lower half's loaded objects (libraries, MCA components) again; called after MPI_Init. */
void crmpi_lower_refresh_objects(void);

#ifdef __cplusplus
}
#endif

#endif /* CRMPI_LOWER_H */
