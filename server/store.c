#include "server/store.h"

#include <stdbool.h>
#include <string.h>

#define KEY_MAX 128

/* Keys end up in file names and object URLs, so the set is checked once here
 * and no backend has to worry about a slash, a NUL or "..". */
bool cf_store_key_valid(const char *key)
{
    size_t len;

    if (key == NULL)
        return false;
    len = strnlen(key, KEY_MAX + 1);
    if (len == 0 || len > KEY_MAX)
        return false;
    if (strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static cf_code refuse_key(struct cf_error *err)
{
    return cf_fail(err, CF_E_INTERNAL,
                   "invalid storage key (1 to 128 characters of [A-Za-z0-9._-], not \".\" or \"..\")");
}

void cf_store_free(struct cf_store *store)
{
    if (store == NULL)
        return;
    store->ops->free(store);
}

cf_code cf_store_writer_new(struct cf_store *store, const char *key, struct cf_store_writer **out,
                            struct cf_error *err)
{
    *out = NULL;
    if (!cf_store_key_valid(key))
        return refuse_key(err);
    return store->ops->writer_new(store, key, out, err);
}

cf_code cf_store_write(struct cf_store_writer *w, const void *data, size_t len, struct cf_error *err)
{
    return w->store->ops->write(w, data, len, err);
}

cf_code cf_store_commit(struct cf_store_writer *w, struct cf_error *err)
{
    return w->store->ops->commit(w, err);
}

void cf_store_abort(struct cf_store_writer *w)
{
    if (w == NULL)
        return;
    w->store->ops->abort(w);
}

cf_code cf_store_reader_open(struct cf_store *store, const char *key, uint64_t offset,
                             struct cf_store_reader **out, struct cf_error *err)
{
    *out = NULL;
    if (!cf_store_key_valid(key))
        return refuse_key(err);
    return store->ops->reader_open(store, key, offset, out, err);
}

ssize_t cf_store_read(struct cf_store_reader *r, void *buf, size_t cap, struct cf_error *err)
{
    return r->store->ops->read(r, buf, cap, err);
}

int cf_store_reader_fd(struct cf_store_reader *r)
{
    return r->store->ops->reader_fd(r);
}

uint64_t cf_store_reader_size(struct cf_store_reader *r)
{
    return r->store->ops->reader_size(r);
}

void cf_store_reader_free(struct cf_store_reader *r)
{
    if (r == NULL)
        return;
    r->store->ops->reader_free(r);
}

cf_code cf_store_remove(struct cf_store *store, const char *key, struct cf_error *err)
{
    if (!cf_store_key_valid(key))
        return refuse_key(err);
    return store->ops->remove(store, key, err);
}

cf_code cf_store_remove_pending(struct cf_store *store, const char *key, struct cf_error *err)
{
    if (!cf_store_key_valid(key))
        return refuse_key(err);
    return store->ops->remove_pending(store, key, err);
}

cf_code cf_store_probe(struct cf_store *store, struct cf_error *err)
{
    return store->ops->probe(store, err);
}

cf_code cf_store_sweep(struct cf_store *store, int64_t older_than, cf_store_owner_fn owner, void *ctx,
                       int *removed, struct cf_error *err)
{
    *removed = 0;
    /* A backend without leftovers of its own has nothing to sweep. */
    if (store->ops->sweep == NULL)
        return CF_OK;
    return store->ops->sweep(store, older_than, owner, ctx, removed, err);
}
