/* madvise_flags.c, checkpointed by the copy-on-write writer while the program goes on (case:
 * copy-on-write): a MADV_DONTFORK mapping is absent from a forked writer's copy and a MADV_WIPEONFORK
 * one reads as zeros there, so the checkpoint lifts that advice for the instant of the fork. */
#include "madvise_flags.c"
