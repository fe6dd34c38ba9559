/* Error codes: 0 is success, failures are negative BATON_E* values. */
#ifndef BATON_ERROR_H
#define BATON_ERROR_H

/* One table gives the enum and the messages (STYLE.md "Errors"). */
#define BATON_ERRNO_MAP(X)                                              \
    X(INVAL, "invalid argument")                                        \
    X(NOMEM, "out of memory")                                           \
    X(RANGE, "value out of range")                                      \
    X(BADMSG, "malformed message")                                      \
    X(STALE, "stale message")                                           \
    X(NOTCOORD, "not the coordinator")                                  \
    X(FULL, "bounded buffer full")                                     \
    X(AGAIN, "need more data")                                          \
    X(AUTH, "authentication failed")                                    \
    X(IO, "I/O error")

enum baton_errno {
    BATON_OK = 0,
#define BATON__ERRNO_ENUM(name, text) BATON_E##name,
    BATON__ERRNO_FIRST = -100,
    BATON_ERRNO_MAP(BATON__ERRNO_ENUM)
#undef BATON__ERRNO_ENUM
        BATON__ERRNO_LAST
};

/* Returns a static, human-readable description of an error code; unknown
 * codes give "unknown error". */
const char *baton_strerror(int rv);

#endif /* BATON_ERROR_H */
