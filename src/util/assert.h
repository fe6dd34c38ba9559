/* Always-on assertions for safety invariants (TigerBeetle style). */
#ifndef BATON_ASSERT_H
#define BATON_ASSERT_H

/* Reports the failed condition with its location, then aborts. Never
 * returns. Safety invariants (one coordinator per epoch, ops applied in
 * order) are cheaper to crash on than to violate silently. */
_Noreturn void baton__assert_fail(const char *expr, const char *file,
                                  int line, const char *func);

#define BATON_ASSERT(expr)                                               \
    ((expr) ? (void)0                                                    \
            : baton__assert_fail(#expr, __FILE__, __LINE__, __func__))

/* Expensive checks, compiled only into debug builds. */
#ifdef NDEBUG
#define BATON_DASSERT(expr) ((void)0)
#else
#define BATON_DASSERT(expr) BATON_ASSERT(expr)
#endif

#endif /* BATON_ASSERT_H */
