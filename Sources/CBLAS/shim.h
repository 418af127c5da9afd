// OpenBLAS's CBLAS interface (Debian: libopenblas-dev). Only `Forward/Matmul.swift` imports it.
#include <cblas.h>
