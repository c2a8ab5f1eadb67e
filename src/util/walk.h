/* Recursive folder walk in a deterministic order (names sorted bytewise), used for trail folders
 * and rule folders. Hidden entries (names starting with '.') are skipped; symbolic links are
 * followed, and a folder that is its own ancestor is reported instead of looping. */
#ifndef KM_WALK_H
#define KM_WALK_H

/* Called for every regular file (errnum 0) and for every entry that could not be read (errnum is
 * the errno: a folder without permission, a dangling link, a loop (ELOOP)). path is only valid
 * during the call. Return 0 to go on, non-zero to stop the walk (km_walk then returns it). */
typedef int (*km_walk_fn)(void *ctx, const char *path, int errnum);

/* Walk root: a regular file is reported itself; a folder is walked recursively. Returns 0, or
 * the first non-zero value a callback returned. */
int km_walk(const char *root, km_walk_fn fn, void *ctx);

#endif
