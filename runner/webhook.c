/* webhook.c — GitHub's push webhook: signature, event fields, and the
 * rules that make a push build nothing. */
#include "config.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runner/webhook.h"

/* The longest ref, URL, repository name or commit message kept. */
#define FIELD_MAX 4096
#define MESSAGE_MAX (64 * 1024)
#define PATH_MAX_LEN 4096

static bool
hmac_sha256 (const void *secret, size_t secret_len, const void *body, size_t len, unsigned char out[32])
{
  unsigned int n = 0;

  return HMAC (EVP_sha256 (), secret, (int) secret_len, body, len, out, &n) != NULL && n == 32;
}

char *
runner_webhook_sign (const void *secret, size_t secret_len, const void *body, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char mac[32];
  char *out = hoist_xmalloc (7 + 64 + 1);

  if (!hmac_sha256 (secret, secret_len, body, len, mac))
    memset (mac, 0, sizeof mac);
  memcpy (out, "sha256=", 7);
  for (size_t i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[mac[i] >> 4];
      out[7 + 2 * i + 1] = hex[mac[i] & 15];
    }
  out[71] = '\0';
  return out;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool
runner_webhook_signature_ok (const void *secret, size_t secret_len, const void *body, size_t len, const char *header)
{
  unsigned char want[32], got[32];
  bool well_formed = true;

  if (header == NULL || strncmp (header, "sha256=", 7) != 0 || strlen (header) != 7 + 64)
    return false;
  for (size_t i = 0; i < 32; i++)
    {
      int hi = hex_value (header[7 + 2 * i]), lo = hex_value (header[7 + 2 * i + 1]);

      well_formed &= hi >= 0 && lo >= 0;
      got[i] = (unsigned char) ((hi & 15) << 4 | (lo & 15));
    }
  if (!hmac_sha256 (secret, secret_len, body, len, want))
    return false;
  /* Every byte is compared whatever the first difference. */
  return hoist_ct_equal (want, got, sizeof want) && well_formed;
}

bool
runner_webhook_delivery_valid (const char *id)
{
  size_t n = id != NULL ? strlen (id) : 0;

  if (n == 0 || n > 128)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) id[i]) && id[i] != '-' && id[i] != '_' && id[i] != '.')
      return false;
  return true;
}

void
runner_push_release (struct runner_push *p)
{
  free (p->repo);
  free (p->clone_url);
  free (p->ref);
  free (p->before);
  free (p->after);
  free (p->message);
  hoist_strv_free (p->files);
  hoist_strv_free (p->committers);
  memset (p, 0, sizeof *p);
}

/* A string with no control byte but tab/newline (ALLOW_NL) and at most MAX bytes. */
static bool
clean_string (const char *s, size_t n, size_t max, bool allow_nl)
{
  if (n > max || memchr (s, '\0', n) != NULL)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char) s[i];

      if ((c < 0x20 && !(allow_nl && (c == '\n' || c == '\t' || c == '\r'))) || c == 0x7f)
        return false;
    }
  return true;
}

/* Copy string member KEY of OBJ (at PATH, for messages) into *OUT. */
static int
take_string (json_t *obj, const char *key, const char *path, size_t max, bool allow_nl, bool required, char **out,
             struct hoist_error **err)
{
  json_t *v = json_object_get (obj, key);

  if (v == NULL || json_is_null (v))
    {
      if (required)
        return hoist_error_set (err, 0, "push event has no '%s%s'", path, key);
      return 0;
    }
  if (!json_is_string (v))
    return hoist_error_set (err, 0, "push event's '%s%s' is not a string", path, key);
  if (!clean_string (json_string_value (v), json_string_length (v), max, allow_nl))
    return hoist_error_set (err, 0, "push event's '%s%s' is too long or holds control characters", path, key);
  *out = hoist_xstrdup (json_string_value (v));
  return 0;
}

static bool
is_commit_id (const char *s)
{
  if (s == NULL || strlen (s) != 40)
    return false;
  for (size_t i = 0; i < 40; i++)
    if (hex_value (s[i]) < 0 || isupper ((unsigned char) s[i]))
      return false;
  return true;
}

static int
take_bool (json_t *obj, const char *key, bool *out, struct hoist_error **err)
{
  json_t *v = json_object_get (obj, key);

  if (v == NULL)
    return 0;
  if (!json_is_boolean (v))
    return hoist_error_set (err, 0, "push event's '%s' is not a boolean", key);
  *out = json_is_true (v);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Sort and drop repeats. */
static void
strv_sort_unique (char **v)
{
  size_t n = hoist_strv_len (v), out = 0;

  if (n == 0)
    return;
  qsort (v, n, sizeof *v, cmp_str);
  for (size_t i = 0; i < n; i++)
    if (out > 0 && strcmp (v[out - 1], v[i]) == 0)
      free (v[i]);
    else
      v[out++] = v[i];
  v[out] = NULL;
}

/* The paths of one commit's added/modified/removed lists. */
static int
take_commit_files (json_t *commit, size_t index, struct runner_push *p, size_t *kept, struct hoist_error **err)
{
  static const char *const lists[] = { "added", "modified", "removed" };

  for (size_t l = 0; l < 3; l++)
    {
      json_t *a = json_object_get (commit, lists[l]), *f;
      size_t i;

      if (a == NULL)
        {
          p->files_complete = false;
          continue;
        }
      if (!json_is_array (a))
        return hoist_error_set (err, 0, "push event's 'commits[%zu].%s' is not a list", index, lists[l]);
      json_array_foreach (a, i, f)
        {
          if (!json_is_string (f) || json_string_length (f) == 0
              || !clean_string (json_string_value (f), json_string_length (f), PATH_MAX_LEN, false))
            return hoist_error_set (err, 0, "push event's 'commits[%zu].%s[%zu]' is not a path", index, lists[l], i);
          if (*kept >= RUNNER_WEBHOOK_MAX_FILES)
            {
              p->files_complete = false;
              return 0;
            }
          hoist_strv_push (&p->files, json_string_value (f));
          (*kept)++;
        }
    }
  return 0;
}

static int
take_commits (json_t *root, struct runner_push *p, struct hoist_error **err)
{
  json_t *commits = json_object_get (root, "commits"), *c;
  size_t i, kept = 0;

  p->files_complete = true;
  if (commits == NULL || json_is_null (commits))
    {
      p->files_complete = false;
      return 0;
    }
  if (!json_is_array (commits))
    return hoist_error_set (err, 0, "push event's 'commits' is not a list");
  if (json_array_size (commits) >= RUNNER_WEBHOOK_COMMITS_CAP)
    p->files_complete = false;
  json_array_foreach (commits, i, c)
    {
      json_t *who;
      char *email = NULL;

      if (!json_is_object (c))
        return hoist_error_set (err, 0, "push event's 'commits[%zu]' is not an object", i);
      who = json_object_get (c, "committer");
      if (json_is_object (who)
          && take_string (who, "email", "commits[].committer.", FIELD_MAX, false, false, &email, err) < 0)
        return -1;
      hoist_strv_push_take (&p->committers, email != NULL ? email : hoist_xstrdup (""));
      if (take_commit_files (c, i, p, &kept, err) < 0)
        return -1;
    }
  strv_sort_unique (p->files);
  return 0;
}

static int
parse_fields (json_t *root, struct runner_push *p, struct hoist_error **err)
{
  json_t *repo = json_object_get (root, "repository"), *head = json_object_get (root, "head_commit");

  if (!json_is_object (repo))
    return hoist_error_set (err, 0, "push event has no 'repository' object");
  if (take_string (repo, "full_name", "repository.", FIELD_MAX, false, true, &p->repo, err) < 0
      || take_string (repo, "clone_url", "repository.", FIELD_MAX, false, false, &p->clone_url, err) < 0
      || take_string (root, "ref", "", FIELD_MAX, false, true, &p->ref, err) < 0
      || take_string (root, "before", "", 64, false, true, &p->before, err) < 0
      || take_string (root, "after", "", 64, false, true, &p->after, err) < 0
      || take_bool (root, "created", &p->created, err) < 0 || take_bool (root, "deleted", &p->deleted, err) < 0
      || take_bool (root, "forced", &p->forced, err) < 0)
    return -1;
  if (strncmp (p->ref, "refs/", 5) != 0)
    return hoist_error_set (err, 0, "push event's 'ref' is not a full ref: '%s'", p->ref);
  if (!is_commit_id (p->before) || !is_commit_id (p->after))
    return hoist_error_set (err, 0, "push event's 'before' and 'after' must be 40 lowercase hex digits");
  if (json_is_object (head)
      && take_string (head, "message", "head_commit.", MESSAGE_MAX, true, false, &p->message, err) < 0)
    return -1;
  return take_commits (root, p, err);
}

int
runner_push_parse (const char *body, size_t len, struct runner_push *p, struct hoist_error **err)
{
  json_error_t jerr;
  json_t *root;
  int ret;

  memset (p, 0, sizeof *p);
  if (len > RUNNER_WEBHOOK_MAX_BODY)
    return hoist_error_set (err, 0, "push event is larger than %zu bytes", RUNNER_WEBHOOK_MAX_BODY);
  root = json_loadb (body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    {
      /* jansson's text quotes the input it stopped at: escaped here. */
      cleanup_free char *why = hoist_quote (jerr.text, strlen (jerr.text), 200, HOIST_QUOTE_ASCII);
      return hoist_error_set (err, 0, "push event is not JSON: %s (line %d, column %d)", why, jerr.line, jerr.column);
    }
  if (!json_is_object (root))
    ret = hoist_error_set (err, 0, "push event is not a JSON object");
  else
    ret = parse_fields (root, p, err);
  json_decref (root);
  if (ret < 0)
    runner_push_release (p);
  return ret;
}

/* ---------------------------------------------------------------------
 * What builds nothing
 * ------------------------------------------------------------------- */

static bool
contains_ci (const char *hay, const char *needle)
{
  size_t n = strlen (needle);

  for (; *hay != '\0'; hay++)
    if (strncasecmp (hay, needle, n) == 0)
      return true;
  return false;
}

/* The message's last paragraph: where git trailers stand. */
static const char *
last_paragraph (const char *message)
{
  const char *para = message;

  for (const char *p = strstr (message, "\n\n"); p != NULL; p = strstr (p + 1, "\n\n"))
    {
      const char *rest = p + strspn (p, "\n\r\t ");

      if (*rest != '\0')
        para = rest;
    }
  return para;
}

/* A "skip-checks: true" (or "skip-checks:true") trailer. */
static bool
has_skip_checks_trailer (const char *message)
{
  static const char key[] = "skip-checks:";

  for (const char *line = last_paragraph (message); *line != '\0';)
    {
      const char *end = line + strcspn (line, "\n");

      if (strncasecmp (line, key, sizeof key - 1) == 0)
        {
          const char *v = line + sizeof key - 1;

          v += strspn (v, " \t");
          if (strncasecmp (v, "true", 4) == 0 && v + 4 + strspn (v + 4, " \t\r") == end)
            return true;
        }
      line = *end == '\n' ? end + 1 : end;
    }
  return false;
}

bool
runner_message_skips_ci (const char *message)
{
  static const char *const markers[] = { "[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]" };

  if (message == NULL)
    return false;
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
    if (contains_ci (message, markers[i]))
      return true;
  return has_skip_checks_trailer (message);
}

static bool
image_touched (const struct runner_image *img, char *const *files)
{
  for (size_t f = 0; files != NULL && files[f] != NULL; f++)
    if (runner_paths_match (img->paths, files[f]) || strcmp (files[f], img->dockerfile) == 0)
      return true;
  return false;
}

size_t
runner_images_touched (const struct runner_repo *repo, char *const *files, bool *wanted)
{
  size_t n = 0;

  for (size_t i = 0; i < repo->n_images; i++)
    {
      wanted[i] = image_touched (&repo->images[i], files);
      n += wanted[i];
    }
  return n;
}

static bool
is_deploy_file (const struct runner_repo *repo, const char *path)
{
  for (size_t i = 0; i < repo->n_images; i++)
    for (size_t d = 0; d < repo->images[i].n_deploy; d++)
      if (strcmp (repo->images[i].deploy[d].file, path) == 0)
        return true;
  return false;
}

/* Every commit by hoist's identity, touching only deploy files. */
static bool
is_own_bump (const struct runner_config *cfg, const struct runner_repo *repo, const struct runner_push *p)
{
  if (p->committers == NULL || p->committers[0] == NULL || !p->files_complete || p->files == NULL)
    return false;
  for (size_t i = 0; p->committers[i] != NULL; i++)
    if (strcasecmp (p->committers[i], cfg->git_email) != 0)
      return false;
  for (size_t i = 0; p->files[i] != NULL; i++)
    if (!is_deploy_file (repo, p->files[i]))
      return false;
  return true;
}

const char *
runner_push_skip_reason (const struct runner_config *cfg, const struct runner_repo *repo, const struct runner_push *p)
{
  if (p->deleted)
    return "the ref was deleted";
  if (!runner_repo_wants_ref (repo, p->ref))
    return "the ref is not configured to build";
  /* A tag push is a release made on purpose: the markers and the bump
   * identity of the commit it names were meant for that commit's branch
   * push (the latest commit of a branch is often hoist's own bump). */
  if (strncmp (p->ref, "refs/tags/", 10) == 0)
    return NULL;
  if (is_own_bump (cfg, repo, p))
    return "hoist's own tag bump";
  if (runner_message_skips_ci (p->message))
    return "the head commit asks to skip CI";
  if (p->files_complete && !p->created && !p->forced && strncmp (p->ref, "refs/heads/", 11) == 0)
    {
      bool *wanted = hoist_xcalloc (repo->n_images, sizeof *wanted);
      size_t n = runner_images_touched (repo, p->files, wanted);

      free (wanted);
      if (n == 0)
        return "no changed path matches an image";
    }
  return NULL;
}
