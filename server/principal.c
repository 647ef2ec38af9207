#include "principal.h"

#include "permissions.h"

#include <string.h>

void cf_principal_init(struct cf_principal *p)
{
    memset(p, 0, sizeof(*p));
}

void cf_principal_dispose(struct cf_principal *p)
{
    json_decref(p->collections);
    cf_principal_init(p);
}

bool cf_principal_has(const struct cf_principal *p, uint32_t perm)
{
    return p->admin || (p->perms & perm) == perm;
}

bool cf_principal_scoped(const struct cf_principal *p)
{
    return !p->admin && p->collections != NULL && json_array_size(p->collections) > 0;
}

bool cf_principal_sees_collection(const struct cf_principal *p, const char *account_id,
                                  const char *collection_id)
{
    size_t i;
    json_t *id;

    if (p->admin)
        return true;
    if (strcmp(p->account_id, account_id) != 0)
        return false;
    if (!cf_principal_scoped(p))
        return true;
    json_array_foreach(p->collections, i, id)
    {
        if (strcmp(json_string_value(id), collection_id) == 0)
            return true;
    }
    return false;
}
