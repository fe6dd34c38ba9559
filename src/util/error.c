#include "setup.h"

#include "error.h"

const char *baton_strerror(int rv)
{
    switch (rv) {
    case BATON_OK:
        return "success";
#define BATON__ERRNO_CASE(name, text)                                   \
    case BATON_E##name:                                                 \
        return text;
        BATON_ERRNO_MAP(BATON__ERRNO_CASE)
#undef BATON__ERRNO_CASE
    default:
        return "unknown error";
    }
}
