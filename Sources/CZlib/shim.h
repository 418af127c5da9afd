#ifndef MOECKPT_CZLIB_SHIM_H
#define MOECKPT_CZLIB_SHIM_H
#include <zlib.h>
#endif
