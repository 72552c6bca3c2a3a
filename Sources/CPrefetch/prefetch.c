// CPrefetch is header-only (static inline); SwiftPM needs a source file to build the module.
#include "CPrefetch.h"
