#ifndef TENANTRY_SQLITE_CONFIG_SHIM_H
#define TENANTRY_SQLITE_CONFIG_SHIM_H

#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call. Memory statistics make every
   allocation of every connection take one process-wide mutex; Tenantry never reads them.
   Only effective before SQLite initializes (the first connection): later calls answer
   SQLITE_MISUSE and change nothing. */
static inline int tenantry_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#endif
