#include "setup.h"

#include <stdio.h>
#include <stdlib.h>

#include "assert.h"

void baton__assert_fail(const char *expr, const char *file, int line,
                        const char *func)
{
    fprintf(stderr, "baton: assertion failed: %s (%s:%d, %s)\n", expr, file,
            line, func);
    fflush(stderr);
    abort();
}
