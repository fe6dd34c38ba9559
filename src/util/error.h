/* Error codes: 0 is success, failures are negative BATON_E* values. */
#ifndef BATON_ERROR_H
#define BATON_ERROR_H

/* One table gives the enum and the messages (STYLE.md "Errors"); it is
 * public: include/baton/baton.h. */
#include <baton/baton.h>

#endif /* BATON_ERROR_H */
