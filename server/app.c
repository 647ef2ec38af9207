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

cf_code cf_app_open_store(struct cf_app *app, struct cf_error *err)
{
    const struct cf_config *cfg = app->cfg;
    char *secret = NULL;
    size_t secret_len = 0;
    cf_code code = cf_config_validate_storage(cfg, err);

    if (code != CF_OK)
        return code;
    if (strcmp(cfg->storage_backend, "fs") == 0)
        return cf_store_fs_open(cfg->storage_path, &app->store, err);
    if (cfg->s3_secret_key_file[0] != '\0') {
        code = cf_read_small_file(cfg->s3_secret_key_file, true, &secret, &secret_len, err);
        if (code == CF_OK && secret_len == 0)
            code = cf_fail(err, CF_E_VALIDATION, "s3_secret_key_file %s is empty", cfg->s3_secret_key_file);
    }
    if (code == CF_OK) {
        struct cf_s3_options opt = {
            .endpoint = cfg->s3_endpoint,
            .bucket = cfg->s3_bucket,
            .region = cfg->s3_region,
            .access_key = cfg->s3_access_key,
            .secret_key = secret != NULL ? secret : cfg->s3_secret_key,
            .virtual_host = strcmp(cfg->s3_addressing, "virtual") == 0,
            .prefix = cfg->s3_prefix,
            .part_size = (uint64_t)cfg->s3_part_size,
            .tls_verify = cfg->s3_tls_verify,
            .ca_file = cfg->s3_ca_file,
            .timeout = (int)cfg->s3_timeout,
        };
        code = cf_store_s3_open(&opt, &app->store, err);
    }
    if (secret != NULL)
        memset(secret, 0, secret_len);
    free(secret);
    return code;
}
