/* The catalogue figures of both metrics routes (totals, per collection, per
 * account, and whether the dependencies answer), from one query, cached for
 * metrics_cache_seconds so that frequent scrapes cost the database nothing
 * noticeable. */
#ifndef COFFER_SERVER_SERVICE_METRICS_H
#define COFFER_SERVER_SERVICE_METRICS_H

#include "app.h"
#include "common/buf.h"

#include <jansson.h>

/* *out (caller decrefs) is
 *   {"database": bool, "storage": bool, "taken_ns": int,
 *    "totals": {"declared", "used", "accounts_active", "tokens_active", "versions", "collections", "tags"},
 *    "collections": [{"id", "account_id", "versions", "size", "stored_size", "max_size",
 *                     "last_version_age" (null without a version), "overdue"}],
 *    "accounts": [{"id", "quota", "used", "token_expiry" (Unix seconds of the soonest
 *                  expires_at of its unrevoked, unexpired tokens; null without
 *                  one, or when the account is disabled)}]}
 * without totals, collections and accounts when the database did not answer. */
cf_code cf_catalogue_snapshot(struct cf_app *app, json_t **out, struct cf_error *err);

/* Writes the whole Prometheus exposition (catalogue, process counters, pool). */
cf_code cf_metrics_prometheus(struct cf_app *app, struct cf_buf *out, struct cf_error *err);
/* Writes the InfluxDB report; CF_E_DB_UNAVAILABLE when the database is down. */
cf_code cf_metrics_influx(struct cf_app *app, struct cf_buf *out, struct cf_error *err);

#endif
