// libpq, PostgreSQL's own client library (Debian: libpq-dev). The header lives under postgresql/ so that its
// own quoted includes (postgres_ext.h) resolve next to it.
#include <postgresql/libpq-fe.h>
