/* BLCR installed blcr_common.h beside libcr.h and some programs include it directly.
 * crcore keeps every public declaration in libcr.h. */
#include "libcr.h"
