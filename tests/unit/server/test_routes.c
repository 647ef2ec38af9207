#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/http.h"
#include "server/permissions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLECTION "/api/stable/repository/collection"

struct match {
    const struct cf_route *route;
    char *params[CF_ROUTE_MAX_PARAMS];
    bool path_known;
    char allow[128];
};

static void match(const char *method, const char *path, struct match *m)
{
    memset(m, 0, sizeof(*m));
    /* Junk in allow shows whether it is rewritten. */
    memset(m->allow, 'x', sizeof(m->allow) - 1);
    m->route = cf_route_match(method, path, m->params, &m->path_known, m->allow, sizeof(m->allow));
}

static void match_free(struct match *m)
{
    for (int i = 0; i < CF_ROUTE_MAX_PARAMS; i++) {
        free(m->params[i]);
        m->params[i] = NULL;
    }
}

static const struct cf_route *find_route(const char *method, const char *pattern)
{
    for (size_t i = 0; i < cf_route_count; i++) {
        if (strcmp(cf_routes[i].method, method) == 0 && strcmp(cf_routes[i].pattern, pattern) == 0)
            return &cf_routes[i];
    }
    fail_msg("no route %s %s in the table", method, pattern);
    return NULL;
}

static void expect_not_found(const char *method, const char *path)
{
    struct match m;

    match(method, path, &m);
    if (m.route != NULL)
        fail_msg("%s %s matched %s %s", method, path, m.route->method, m.route->pattern);
    if (m.path_known)
        fail_msg("%s %s: path taken as known", method, path);
    assert_string_equal(m.allow, "");
    for (int i = 0; i < CF_ROUTE_MAX_PARAMS; i++)
        assert_null(m.params[i]);
}

static void expect_not_allowed(const char *method, const char *path, const char *allow)
{
    struct match m;

    match(method, path, &m);
    if (m.route != NULL)
        fail_msg("%s %s matched %s %s", method, path, m.route->method, m.route->pattern);
    assert_true(m.path_known);
    assert_string_equal(m.allow, allow);
    for (int i = 0; i < CF_ROUTE_MAX_PARAMS; i++)
        assert_null(m.params[i]);
}

/* Every route of the table, with each {} replaced by a value, finds itself. */
static void test_every_route_finds_itself(void **state)
{
    char path[256];

    (void)state;
    assert_true(cf_route_count >= 23);
    for (size_t i = 0; i < cf_route_count; i++) {
        const struct cf_route *route = &cf_routes[i];
        const char *p = route->pattern;
        size_t at = 0;
        int nparam = 0;
        struct match m;

        while (*p != '\0') {
            if (p[0] == '{' && p[1] == '}') {
                at += (size_t)snprintf(path + at, sizeof(path) - at, "value-%d", nparam);
                nparam++;
                p += 2;
            } else {
                path[at++] = *p++;
            }
            assert_true(at < sizeof(path));
        }
        path[at] = '\0';

        match(route->method, path, &m);
        if (m.route != route)
            fail_msg("%s %s matched %s %s", route->method, path, m.route ? m.route->method : "nothing",
                     m.route ? m.route->pattern : "");
        assert_true(m.path_known);
        for (int k = 0; k < CF_ROUTE_MAX_PARAMS; k++) {
            if (k < nparam) {
                char expected[16];
                snprintf(expected, sizeof(expected), "value-%d", k);
                assert_non_null(m.params[k]);
                assert_string_equal(m.params[k], expected);
            } else {
                assert_null(m.params[k]);
            }
        }
        match_free(&m);
    }
}

static void test_params_are_copies(void **state)
{
    char path[] = COLLECTION "/db-1/versions/v7";
    struct match m;

    (void)state;
    match("GET", path, &m);
    assert_ptr_equal(m.route, find_route("GET", COLLECTION "/{}/versions/{}"));
    assert_string_equal(m.params[0], "db-1");
    assert_string_equal(m.params[1], "v7");
    assert_null(m.params[2]);
    /* Owned copies: changing the path changes nothing. */
    memset(path, 'z', sizeof(path) - 1);
    assert_string_equal(m.params[0], "db-1");
    assert_string_equal(m.params[1], "v7");
    match_free(&m);

    match("DELETE", "/api/stable/auth/token/current", &m);
    assert_ptr_equal(m.route, find_route("DELETE", "/api/stable/auth/token/{}"));
    assert_string_equal(m.params[0], "current");
    match_free(&m);

    match("PUT", "/api/stable/accounts/acme", &m);
    assert_ptr_equal(m.route, find_route("PUT", "/api/stable/accounts/{}"));
    assert_int_equal(m.route->permission, CF_PERM_ACCOUNTS_MANAGE);
    assert_string_equal(m.params[0], "acme");
    match_free(&m);
}

static void test_routes_and_permissions(void **state)
{
    struct match m;

    (void)state;
    match("POST", COLLECTION "/c/versions", &m);
    assert_non_null(m.route);
    assert_true(m.route->streaming);
    assert_true(m.route->authenticated);
    assert_int_equal(m.route->permission, CF_PERM_VERSIONS_UPLOAD);
    assert_non_null(m.route->stream_begin);
    assert_non_null(m.route->stream_data);
    assert_non_null(m.route->stream_end);
    match_free(&m);

    match("GET", COLLECTION "/c/versions/latest", &m);
    assert_int_equal(m.route->permission, CF_PERM_VERSIONS_DOWNLOAD);
    assert_false(m.route->streaming);
    match_free(&m);

    match("GET", "/health", &m);
    assert_non_null(m.route);
    assert_false(m.route->authenticated);
    match_free(&m);

    match("GET", "/api/stable/auth/whoami", &m);
    assert_true(m.route->authenticated);
    assert_int_equal(m.route->permission, 0);
    match_free(&m);
}

static void test_unknown_paths(void **state)
{
    (void)state;
    expect_not_found("GET", "/");
    expect_not_found("GET", "");
    expect_not_found("GET", "/api");
    expect_not_found("GET", "/api/stable");
    expect_not_found("GET", "/API/stable/accounts");
    expect_not_found("GET", "/api/v1/accounts");
    expect_not_found("GET", "/healthz");
    expect_not_found("GET", "/metrics/nothing");
    /* A {} segment is never empty. */
    expect_not_found("GET", "/api/stable/accounts//");
    expect_not_found("GET", COLLECTION "//versions");
    expect_not_found("GET", COLLECTION "/c/versions/");
}

static void test_trailing_slash_and_extra_segment(void **state)
{
    (void)state;
    expect_not_found("GET", "/api/stable/accounts/");
    expect_not_found("POST", "/api/stable/accounts/");
    expect_not_found("GET", "/health/");
    expect_not_found("GET", "/live/");
    expect_not_found("GET", COLLECTION "/");
    expect_not_found("GET", COLLECTION "/c/");
    expect_not_found("GET", "/api/stable/accounts/acme/extra");
    expect_not_found("GET", COLLECTION "/c/versions/v1/extra");
    expect_not_found("DELETE", COLLECTION "/c/versions/v1/");
    expect_not_found("GET", COLLECTION "/c/other");
    expect_not_found("GET", "/api/stable/auth/whoami/me");
    expect_not_found("GET", "/health/x");
}

static void test_wrong_method_lists_allowed(void **state)
{
    (void)state;
    expect_not_allowed("DELETE", "/api/stable/accounts", "POST, GET");
    expect_not_allowed("PUT", "/api/stable/accounts", "POST, GET");
    expect_not_allowed("POST", "/api/stable/accounts/acme", "GET, PUT, DELETE");
    expect_not_allowed("PATCH", "/api/stable/accounts/acme", "GET, PUT, DELETE");
    expect_not_allowed("PUT", "/api/stable/auth/token", "POST, GET");
    expect_not_allowed("GET", "/api/stable/auth/token/abc", "DELETE");
    expect_not_allowed("POST", "/api/stable/auth/whoami", "GET");
    expect_not_allowed("DELETE", COLLECTION, "POST, GET");
    expect_not_allowed("POST", COLLECTION "/c", "GET, PUT, DELETE");
    expect_not_allowed("DELETE", COLLECTION "/c/versions", "POST, GET");
    expect_not_allowed("PUT", COLLECTION "/c/versions/v1", "GET, HEAD, DELETE");
    expect_not_allowed("POST", COLLECTION "/c/versions/v1", "GET, HEAD, DELETE");
    expect_not_allowed("POST", "/health", "GET");
    expect_not_allowed("DELETE", "/ready", "GET");
    /* Methods are case-sensitive. */
    expect_not_allowed("get", "/live", "GET");
}

static void test_allow_list_is_bounded(void **state)
{
    char allow[8];
    char *params[CF_ROUTE_MAX_PARAMS] = {NULL};
    bool known = false;

    (void)state;
    memset(allow, 'x', sizeof(allow));
    assert_null(cf_route_match("PATCH", COLLECTION "/c/versions/v1", params, &known, allow, sizeof(allow)));
    assert_true(known);
    assert_true(strlen(allow) < sizeof(allow));
    assert_memory_equal(allow, "GET, HEAD, DELETE", strlen(allow));
}

static void test_head_on_version_uses_its_own_route(void **state)
{
    struct match m;

    (void)state;
    match("HEAD", COLLECTION "/c/versions/latest", &m);
    assert_ptr_equal(m.route, find_route("HEAD", COLLECTION "/{}/versions/{}"));
    assert_string_equal(m.route->method, "HEAD");
    assert_int_equal(m.route->permission, CF_PERM_VERSIONS_LIST);
    assert_string_equal(m.params[0], "c");
    assert_string_equal(m.params[1], "latest");
    match_free(&m);
    /* GET on the same path still needs the download permission. */
    match("GET", COLLECTION "/c/versions/latest", &m);
    assert_int_equal(m.route->permission, CF_PERM_VERSIONS_DOWNLOAD);
    match_free(&m);
}

static void test_head_falls_back_to_get(void **state)
{
    struct match m;

    (void)state;
    match("HEAD", "/api/stable/accounts", &m);
    assert_ptr_equal(m.route, find_route("GET", "/api/stable/accounts"));
    assert_int_equal(m.route->permission, CF_PERM_ACCOUNTS_MANAGE);
    match_free(&m);

    match("HEAD", COLLECTION "/c/versions", &m);
    assert_ptr_equal(m.route, find_route("GET", COLLECTION "/{}/versions"));
    assert_int_equal(m.route->permission, CF_PERM_VERSIONS_LIST);
    assert_string_equal(m.params[0], "c");
    match_free(&m);

    match("HEAD", COLLECTION "/c", &m);
    assert_ptr_equal(m.route, find_route("GET", COLLECTION "/{}"));
    assert_int_equal(m.route->permission, CF_PERM_COLLECTIONS_VIEW);
    match_free(&m);

    match("HEAD", "/api/stable/auth/token", &m);
    assert_ptr_equal(m.route, find_route("GET", "/api/stable/auth/token"));
    match_free(&m);

    match("HEAD", "/health", &m);
    assert_ptr_equal(m.route, find_route("GET", "/health"));
    match_free(&m);

    /* No GET, nothing to fall back to. */
    expect_not_allowed("HEAD", "/api/stable/auth/token/abc", "DELETE");
    expect_not_found("HEAD", "/nothing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_finds_itself),
        cmocka_unit_test(test_params_are_copies),
        cmocka_unit_test(test_routes_and_permissions),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_trailing_slash_and_extra_segment),
        cmocka_unit_test(test_wrong_method_lists_allowed),
        cmocka_unit_test(test_allow_list_is_bounded),
        cmocka_unit_test(test_head_on_version_uses_its_own_route),
        cmocka_unit_test(test_head_falls_back_to_get),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
