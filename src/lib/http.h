/* The node's Prometheus endpoint (`[node] metrics_listen`): GET /metrics
 * served by libmicrohttpd on the node's own loop (docs/metrics.md). */
#ifndef BATON_LIB_HTTP_H
#define BATON_LIB_HTTP_H

struct baton;
struct lib_http; /* http.c */

/* Listens at the config's metrics_listen (nothing if unset) and serves
 * from b's loop. Errors: BATON_EIO (cannot listen: b->errmsg says
 * where), BATON_ENOMEM. Adds its handles to b->handles. */
int lib_http_start(struct baton *b);
/* Stops serving; its handles close through b's handle count. Nothing if
 * none was started. */
void lib_http_close(struct baton *b);

#endif /* BATON_LIB_HTTP_H */
