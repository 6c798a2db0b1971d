/* registry_private.h — internals of registry/ shared between its sources
 * and its tests.  Not a public API: include registry/registry.h instead. */
#ifndef HOIST_REGISTRY_PRIVATE_H
#define HOIST_REGISTRY_PRIVATE_H

#include <jansson.h>

#include "registry/registry.h"

/* ---------------------------------------------------------------------
 * The auth challenge (challenge.c)
 * ------------------------------------------------------------------- */

/* The longest parameter value registry_challenge_parse accepts, in bytes
 * after unquoting. */
#define REGISTRY_CHALLENGE_VALUE_MAX 4096

/* ---------------------------------------------------------------------
 * Docker config files (creds.c)
 * ------------------------------------------------------------------- */

/* The largest config.json (or containers auth.json) read. */
#define REGISTRY_CONFIG_MAX (4 * 1024 * 1024)
/* The largest output taken from a credential helper. */
#define REGISTRY_HELPER_OUTPUT_MAX (64 * 1024)
/* How long a credential helper may take. */
#define REGISTRY_HELPER_TIMEOUT_MS 30000
/* The "auths" key docker uses for docker.io. */
#define REGISTRY_DOCKER_HUB_KEY "https://index.docker.io/v1/"

/* Parse TEXT (LEN bytes, not necessarily NUL-terminated) as a config
 * file: a JSON object, duplicate keys refused, "auths" and "credHelpers"
 * objects and "credsStore" a string when present.  On success *OUT is
 * the caller's (json_decref); on failure *OUT is NULL and the message
 * never quotes the text (it may hold secrets). */
int registry_config_load (const char *text, size_t len, json_t **out, struct hoist_error **err) HOIST_WUR;

/* What CONFIG (from registry_config_load) says about HOST, reading no
 * file and running nothing.  Every "auths" entry is checked (an object or
 * null; string fields; "auth" the base64 of "user:password" with a user
 * and no NUL byte; a user with a password or an "identitytoken", and no
 * password without a user), and of the entries that hold credentials the
 * one whose key names HOST best gives *OUT: the key registry_config_key
 * (HOST) first, then HOST itself, then the first key in file order whose
 * host part ("https://h/v2/" -> "h", compared case-insensitively; for
 * docker.io any of docker.io, index.docker.io, registry-1.docker.io) is
 * HOST.  With an identity token and no user, OUT->username is "".  No
 * such entry leaves OUT->username NULL.  *HELPER gets the NAME of the
 * docker-credential-NAME that "credHelpers" (its keys matched as those of
 * "auths") or else "credsStore" names, or NULL; the caller owns it.
 * OUT->source is left NULL, and the secrets are not given to the log
 * masker (registry_creds_find does both).  On failure *OUT is empty and
 * *HELPER NULL. */
int registry_config_lookup (const json_t *config, const char *host, struct registry_creds *out, char **helper,
                            struct hoist_error **err) HOIST_WUR;

/* registry_config_load then registry_config_lookup. */
int registry_config_parse (const char *text, size_t len, const char *host, struct registry_creds *out, char **helper,
                           struct hoist_error **err) HOIST_WUR;

/* The "auths" key docker login writes for HOST: REGISTRY_DOCKER_HUB_KEY
 * for docker.io (and its aliases), HOST otherwise.  Borrowed from HOST or
 * static. */
const char *registry_config_key (const char *host);

/* Set HOST's "auths" entry of CONFIG to {"auth": base64 "USER:PASSWORD"},
 * as docker login does, creating "auths" when missing; every other key is
 * kept.  Fails when USER is empty or holds ':' or PASSWORD is empty. */
int registry_config_set_auth (json_t *config, const char *host, const char *user, const char *password,
                              struct hoist_error **err) HOIST_WUR;

/* Remove from CONFIG's "auths" every key registry_config_lookup would
 * match for HOST.  Returns how many were removed. */
size_t registry_config_erase_auth (json_t *config, const char *host);

/* CONFIG as written to disk: indented JSON and a final newline.  Owned by
 * the caller. */
char *registry_config_dump (const json_t *config);

/* Decode the standard, padded base64 of IN (N bytes) as Go's
 * base64.StdEncoding does: '\r' and '\n' skipped, padding required,
 * nothing but newlines after it.  Returns a new NUL-terminated string
 * (it may hold NUL bytes) with its length in *OUT_LEN, or NULL when IN
 * is not base64. */
char *registry_base64_decode (const char *in, size_t n, size_t *out_len);

#endif
