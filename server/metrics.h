/* The process's own counters for Prometheus: requests by route, method and
 * status, their latency, bytes moved, uploads refused by reason. Lock-free
 * (atomics) so that counting costs every request next to nothing; memory is
 * fixed by the route table. The catalogue figures (collections, usage) come
 * from the database instead: service_metrics.h. */
#ifndef COFFER_SERVER_METRICS_H
#define COFFER_SERVER_METRICS_H

#include "common/buf.h"
#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

/* route_index: the route's place in cf_routes, or cf_route_count for a request
 * that matched none. */
void cf_metrics_request(size_t route_index, unsigned status, double seconds);
void cf_metrics_upload_bytes(uint64_t n);
void cf_metrics_download_bytes(uint64_t n);
/* An upload refused with code (any failure of the upload path). */
void cf_metrics_upload_refused(cf_code code);

/* Appends the counters above in the Prometheus text format. */
cf_code cf_metrics_write(struct cf_buf *out);

#endif
