#include "metrics_format.h"

#include <math.h>
#include <string.h>

/* Appends value, putting a backslash before each character listed in special
 * and writing newlines (and carriage returns) as newline_as. */
static cf_code escaped(struct cf_buf *out, const char *value, const char *special, const char *newline_as)
{
    for (const char *p = value; *p != '\0'; p++) {
        cf_code code;
        if (*p == '\n' || *p == '\r')
            code = cf_buf_append(out, newline_as, strlen(newline_as));
        else if (strchr(special, *p) != NULL)
            code = cf_buf_printf(out, "\\%c", *p);
        else
            code = cf_buf_append(out, p, 1);
        if (code != CF_OK)
            return code;
    }
    return CF_OK;
}

cf_code cf_prom_label_value(struct cf_buf *out, const char *value)
{
    return escaped(out, value, "\\\"", "\\n");
}

cf_code cf_prom_header(struct cf_buf *out, const char *name, const char *type, const char *help)
{
    return cf_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

cf_code cf_prom_sample(struct cf_buf *out, const char *name, const char *const *labels, double value)
{
    cf_code code = cf_buf_printf(out, "%s", name);

    for (size_t i = 0; code == CF_OK && labels != NULL && labels[i] != NULL; i += 2) {
        code = cf_buf_printf(out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
        if (code == CF_OK)
            code = cf_prom_label_value(out, labels[i + 1]);
        if (code == CF_OK)
            code = cf_buf_append(out, "\"", 1);
    }
    if (code == CF_OK && labels != NULL && labels[0] != NULL)
        code = cf_buf_append(out, "}", 1);
    if (code != CF_OK)
        return code;
    if (isinf(value))
        return cf_buf_printf(out, " %s\n", value > 0 ? "+Inf" : "-Inf");
    /* Whole numbers (counters, bytes) are written without an exponent. */
    if (value == floor(value) && fabs(value) < 1e15)
        return cf_buf_printf(out, " %.0f\n", value);
    return cf_buf_printf(out, " %.9g\n", value);
}

cf_code cf_influx_tag(struct cf_buf *out, const char *value)
{
    /* A newline cannot be escaped in the line protocol (it would end the line):
     * it becomes an escaped space. InfluxDB 1.x reads a backslash before any
     * other character literally, so backslashes are left as they are. */
    return escaped(out, value, ",= ", "\\ ");
}
