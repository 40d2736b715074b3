/* files: temporary directories and whole files for the tests.
 *
 * Guarantees: a directory or file the test needs and cannot make (mkdtemp,
 * fopen, a short write) fails the running test naming the path (mem.h), as
 * does running out of memory; nothing here returns half a result. Paths are
 * borrowed; returned strings are the caller's, freed with free(). */
#ifndef BCR_TEST_FILES_H
#define BCR_TEST_FILES_H

#include <stddef.h>

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp). The caller
 * owns the string (free) and removes the tree with files_rmtree. */
char *files_tmpdir(void);
/* Removes path and everything below it; a missing path is not an error. */
void files_rmtree(const char *path);

/* Creates every missing directory above path (not path itself). */
void files_make_parents(const char *path);
/* Writes a whole file, creating its parents. */
void files_write(const char *path, const void *data, size_t len);
/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL if
 * it cannot be opened (missing). len (may be NULL) gets its length. */
char *files_read(const char *path, size_t *len);

/* Number of regular files below dir, recursively (to check nothing was written). */
int files_count(const char *dir);

#endif
