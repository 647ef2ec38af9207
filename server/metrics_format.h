/* Writing the two metrics formats: the Prometheus text exposition format and
 * the InfluxDB line protocol. Pure functions over a bounded buffer. */
#ifndef COFFER_SERVER_METRICS_FORMAT_H
#define COFFER_SERVER_METRICS_FORMAT_H

#include "common/buf.h"

#include <stdint.h>

/* A label value inside "...": backslash, double quote and newline escaped. */
cf_code cf_prom_label_value(struct cf_buf *out, const char *value);
/* "# HELP name help\n# TYPE name type\n". */
cf_code cf_prom_header(struct cf_buf *out, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",k2="v2"} value. labels is NULL or a NULL-terminated
 * list of key, value pairs. */
cf_code cf_prom_sample(struct cf_buf *out, const char *name, const char *const *labels, double value);

/* A tag key or value: comma, equals sign and space escaped with a backslash;
 * a newline becomes an escaped space. */
cf_code cf_influx_tag(struct cf_buf *out, const char *value);

#endif
