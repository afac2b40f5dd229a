#include <argon2.h>
#include <malloc.h>

/* Each hash allocates its memory cost (19 MiB by default) with malloc. glibc raises its mmap
   threshold after the first such block is freed, and from then on keeps every block in the
   heap: the daemon held the hashing workers' memory for good. A fixed threshold (which also
   stops that adjustment) maps such blocks and gives them back to the system when freed. */
static inline int tenantry_return_large_blocks(void) {
    return mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}
