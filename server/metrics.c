#include "metrics.h"

#include "http.h"
#include "metrics_format.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_ROUTES 64
#define STATUS_MIN 100
#define STATUS_MAX 599

/* Latency bucket bounds in seconds; the last bucket is +Inf. */
static const double bucket_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1,     2.5,   5,    10,    30,   60,  300};
#define BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

struct route_counters {
    atomic_uint_fast64_t by_status[STATUS_MAX - STATUS_MIN + 1];
    atomic_uint_fast64_t buckets[BUCKETS + 1]; /* not cumulative; summed when written */
    atomic_uint_fast64_t sum_micros;
    atomic_uint_fast64_t count;
};

static struct route_counters routes[MAX_ROUTES + 1];
static atomic_uint_fast64_t upload_bytes, download_bytes;
static atomic_uint_fast64_t refused[CF_E_COUNT_];

void cf_metrics_request(size_t route_index, unsigned status, double seconds)
{
    struct route_counters *r = &routes[route_index < MAX_ROUTES ? route_index : MAX_ROUTES];
    size_t bucket = 0;

    if (status >= STATUS_MIN && status <= STATUS_MAX)
        atomic_fetch_add_explicit(&r->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
    while (bucket < BUCKETS && seconds > bucket_bounds[bucket])
        bucket++;
    atomic_fetch_add_explicit(&r->buckets[bucket], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_micros, (uint_fast64_t)(seconds * 1e6), memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

void cf_metrics_upload_bytes(uint64_t n)
{
    atomic_fetch_add_explicit(&upload_bytes, n, memory_order_relaxed);
}

void cf_metrics_download_bytes(uint64_t n)
{
    atomic_fetch_add_explicit(&download_bytes, n, memory_order_relaxed);
}

void cf_metrics_upload_refused(cf_code code)
{
    if (code > CF_OK && code < CF_E_COUNT_)
        atomic_fetch_add_explicit(&refused[code], 1, memory_order_relaxed);
}

/* The route and method labels of route index i. */
static void route_labels(size_t i, const char **route, const char **method)
{
    *route = i < cf_route_count ? cf_routes[i].pattern : "unmatched";
    *method = i < cf_route_count ? cf_routes[i].method : "any";
}

static cf_code write_requests(struct cf_buf *out)
{
    size_t nroutes = cf_route_count < MAX_ROUTES ? cf_route_count : MAX_ROUTES;
    cf_code code = cf_prom_header(out, "coffer_http_requests_total", "counter",
                                  "HTTP requests answered, by route, method and status.");

    for (size_t i = 0; code == CF_OK && i <= nroutes; i++) {
        struct route_counters *r = &routes[i == nroutes ? MAX_ROUTES : i];
        const char *route, *method;

        route_labels(i == nroutes ? cf_route_count : i, &route, &method);
        for (unsigned status = STATUS_MIN; code == CF_OK && status <= STATUS_MAX; status++) {
            uint_fast64_t n = atomic_load_explicit(&r->by_status[status - STATUS_MIN], memory_order_relaxed);
            char status_text[8];
            if (n == 0)
                continue;
            snprintf(status_text, sizeof(status_text), "%u", status);
            const char *labels[] = {"route", route, "method", method, "status", status_text, NULL};
            code = cf_prom_sample(out, "coffer_http_requests_total", labels, (double)n);
        }
    }
    if (code == CF_OK)
        code = cf_prom_header(out, "coffer_http_request_duration_seconds", "histogram",
                              "Time from a request's first byte to its completion, by route and method.");
    for (size_t i = 0; code == CF_OK && i <= nroutes; i++) {
        struct route_counters *r = &routes[i == nroutes ? MAX_ROUTES : i];
        uint_fast64_t cumulative = 0, count = atomic_load_explicit(&r->count, memory_order_relaxed);
        const char *route, *method;
        char le[24];

        if (count == 0)
            continue;
        route_labels(i == nroutes ? cf_route_count : i, &route, &method);
        for (size_t b = 0; code == CF_OK && b <= BUCKETS; b++) {
            cumulative += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
            if (b < BUCKETS)
                snprintf(le, sizeof(le), "%g", bucket_bounds[b]);
            else
                snprintf(le, sizeof(le), "+Inf");
            const char *labels[] = {"route", route, "method", method, "le", le, NULL};
            code = cf_prom_sample(out, "coffer_http_request_duration_seconds_bucket", labels,
                                  (double)cumulative);
        }
        const char *labels[] = {"route", route, "method", method, NULL};
        if (code == CF_OK)
            code = cf_prom_sample(out, "coffer_http_request_duration_seconds_sum", labels,
                                  (double)atomic_load_explicit(&r->sum_micros, memory_order_relaxed) / 1e6);
        if (code == CF_OK)
            code =
                cf_prom_sample(out, "coffer_http_request_duration_seconds_count", labels, (double)cumulative);
    }
    return code;
}

cf_code cf_metrics_write(struct cf_buf *out)
{
    cf_code code = write_requests(out);

    if (code == CF_OK)
        code = cf_prom_header(out, "coffer_upload_bytes_total", "counter",
                              "Original bytes received in uploads.");
    if (code == CF_OK)
        code = cf_prom_sample(out, "coffer_upload_bytes_total", NULL, (double)atomic_load(&upload_bytes));
    if (code == CF_OK)
        code =
            cf_prom_header(out, "coffer_download_bytes_total", "counter", "Bytes sent in version downloads.");
    if (code == CF_OK)
        code = cf_prom_sample(out, "coffer_download_bytes_total", NULL, (double)atomic_load(&download_bytes));
    if (code == CF_OK)
        code = cf_prom_header(out, "coffer_uploads_refused_total", "counter",
                              "Uploads that ended without a version, by the error code they got.");
    /* Several internal codes share one API code: each reason is written once, summed. */
    for (int c = CF_OK + 1; code == CF_OK && c < CF_E_COUNT_; c++) {
        const char *reason = cf_code_name((cf_code)c);
        uint_fast64_t n = 0;
        bool first = true;
        for (int other = CF_OK + 1; other < CF_E_COUNT_; other++) {
            if (strcmp(cf_code_name((cf_code)other), reason) != 0)
                continue;
            first = first && other >= c;
            n += atomic_load(&refused[other]);
        }
        const char *labels[] = {"reason", reason, NULL};
        if (first && n > 0)
            code = cf_prom_sample(out, "coffer_uploads_refused_total", labels, (double)n);
    }
    return code;
}
