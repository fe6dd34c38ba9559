/* Common compilation setup: included first by every .c file in the tree. */
#ifndef BATON_SETUP_H
#define BATON_SETUP_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATON_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BATON_MIN(a, b) ((a) < (b) ? (a) : (b))
#define BATON_MAX(a, b) ((a) > (b) ? (a) : (b))
#define BATON_UNUSED(x) ((void)(x))

#endif /* BATON_SETUP_H */
