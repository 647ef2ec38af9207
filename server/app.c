#include "app.h"

#include <stdlib.h>
#include <string.h>

cf_code cf_app_load_keys(struct cf_app *app, struct cf_error *err)
{
    const struct cf_config *cfg = app->cfg;
    char *secret = NULL, *private_pem = NULL, *public_pem = NULL;
    size_t len = 0;
    cf_code code;

    if (strcmp(cfg->jwt_algorithm, "HS256") == 0) {
        code = cf_read_small_file(cfg->jwt_secret_file, true, &secret, &len, err);
        if (code == CF_OK)
            code = cf_jwt_keys_hs256(&app->keys, secret, len, err);
    } else {
        code = cf_read_small_file(cfg->jwt_public_key_file, false, &public_pem, NULL, err);
        /* A server that only verifies may go without the private key. */
        if (code == CF_OK && cfg->jwt_private_key_file[0] != '\0')
            code = cf_read_small_file(cfg->jwt_private_key_file, false, &private_pem, NULL, err);
        if (code == CF_OK)
            code = cf_jwt_keys_es256(&app->keys, private_pem, public_pem, err);
    }
    if (secret != NULL)
        memset(secret, 0, len);
    free(secret);
    free(private_pem);
    free(public_pem);
    return code;
}
