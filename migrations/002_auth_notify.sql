-- Every change that can make a token refuse (revocation, expiry, scope,
-- restrictions, an account made inactive or deleted) is announced on the
-- coffer_auth channel, so that each cofferd instance drops its cached copy of
-- token checks at once, whoever made the change (API, command line, SQL).
-- last_used_at changes are not announced: they change no decision.
CREATE FUNCTION coffer_auth_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('coffer_auth', TG_TABLE_NAME || ':' || OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER tokens_auth_changed
    AFTER UPDATE OF account_id, permissions, collections, allowed_ips, allowed_user_agents, one_time_upload,
                    expires_at, revoked_at OR DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION coffer_auth_changed();
CREATE TRIGGER accounts_auth_changed
    AFTER UPDATE OF active OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION coffer_auth_changed();
