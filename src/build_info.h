/* build_info: what the running program is made of, for `--version`: its own
 * version, then each library linked into it with the version that library
 * reports at run time (not the headers it was compiled against, where the
 * library can say), one "NAME VERSION" line each. The names are those of the
 * package's SBOM and of the list embedded in its ELF section .bcr_deps
 * (scripts/sbom.py), so the three can be compared. */
#ifndef BCR_BUILD_INFO_H
#define BCR_BUILD_INFO_H

#include <stdio.h>

/* Writes the lines to out. A library the program was not linked with (c-ares
 * when the system's libcurl resolves names with threads) is left out. */
void build_info_print(FILE *out);

#endif
