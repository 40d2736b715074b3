#ifndef BCR_VERSION_H
#define BCR_VERSION_H
#define BCR_VERSION "0.1.0"
#endif
