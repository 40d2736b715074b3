/* uuid: random (version 4) UUIDs from the operating system's random source. */
#ifndef BCR_UUID_H
#define BCR_UUID_H

#include "error.h"

/* Writes a lowercase UUID v4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") and a NUL. */
int uuid_v4(char out[37], struct error *err);

#endif
