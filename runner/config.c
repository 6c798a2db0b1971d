/* config.c — hoist.yml, read with libyaml's document loader.  Every error
 * is collected (not only the first), each named "FILE:LINE: problem", so
 * `hoist serve --check` shows all of them at once.  Aliases are refused:
 * a node reached twice (an alias) is an error, which also keeps a "billion
 * laughs" document from costing more than its size. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "runner/pipeline.h"

#define DEFAULT_MESSAGE "chore: update {image} image to {tag} [skip ci]"

struct reader
{
  yaml_document_t doc;
  const char *name;
  struct hoist_buf errors;
  unsigned n_errors;
  bool *visited;
  size_t n_nodes;
  bool saw_repositories; /* the key, whatever its value */
};

static void problem (struct reader *r, const yaml_node_t *n, const char *fmt, ...) HOIST_PRINTF (3, 4);

static void
problem (struct reader *r, const yaml_node_t *n, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  if (r->n_errors++ >= RUNNER_CONFIG_MAX_ERRORS)
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  if (hoist_buf_addf (&r->errors, NULL, "%s%s:%zu: %s", r->errors.len > 0 ? "\n" : "", r->name,
                      n != NULL ? n->start_mark.line + 1 : 1, msg)
      < 0)
    abort ();
}

static yaml_node_t *
node (struct reader *r, int id)
{
  yaml_node_t *n = yaml_document_get_node (&r->doc, id);

  if (n == NULL)
    return NULL;
  if (r->visited[id - 1])
    {
      problem (r, n, "aliases (*name) are not supported in hoist.yml: write the value out");
      return NULL;
    }
  r->visited[id - 1] = true;
  return n;
}

static const char *
type_name (const yaml_node_t *n)
{
  return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

static bool
has_control (const char *s)
{
  for (; *s != '\0'; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* The scalar N as a string (a copy), or NULL after an error naming KEY. */
static char *
str (struct reader *r, const yaml_node_t *n, const char *key)
{
  const char *v;

  if (n->type != YAML_SCALAR_NODE)
    {
      problem (r, n, "'%s' must be a string, not %s", key, type_name (n));
      return NULL;
    }
  v = (const char *) n->data.scalar.value;
  if (strlen (v) != n->data.scalar.length || has_control (v))
    {
      problem (r, n, "'%s' holds control characters", key);
      return NULL;
    }
  return hoist_xstrdup (v);
}

static void
set_str (struct reader *r, const yaml_node_t *n, const char *key, char **out)
{
  char *v = str (r, n, key);

  if (v == NULL)
    return;
  free (*out);
  *out = v;
}

static bool
boolean (struct reader *r, const yaml_node_t *n, const char *key, bool *out)
{
  static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : "";

  for (size_t i = 0; i < 3; i++)
    {
      if (strcasecmp (v, yes[i]) == 0)
        return *out = true;
      if (strcasecmp (v, no[i]) == 0)
        return !(*out = false);
    }
  problem (r, n, "'%s' must be true or false", key);
  return false;
}

static void
number (struct reader *r, const yaml_node_t *n, const char *key, unsigned min, unsigned max, unsigned *out)
{
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : "";
  char *end;
  unsigned long x;

  errno = 0;
  x = strtoul (v, &end, 10);
  if (!isdigit ((unsigned char) *v) || *end != '\0' || errno != 0 || x < min || x > max)
    {
      problem (r, n, "'%s' must be a whole number from %u to %u", key, min, max);
      return;
    }
  *out = (unsigned) x;
}

/* Seconds: "90", "90s", "15m", "2h". */
static void
duration (struct reader *r, const yaml_node_t *n, const char *key, unsigned *out)
{
  const char *v = n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : "";
  char *end;
  unsigned long x, unit = 1;

  errno = 0;
  x = strtoul (v, &end, 10);
  if (*end == 's' || *end == 'm' || *end == 'h')
    unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : 1, end++;
  if (!isdigit ((unsigned char) *v) || *end != '\0' || errno != 0 || x == 0 || x > 7 * 86400 / unit)
    {
      problem (r, n, "'%s' must be a duration such as 600, 30m or 2h (at most a week)", key);
      return;
    }
  *out = (unsigned) (x * unit);
}

/* A list of strings (a single string is a list of one); CHECK, when
 * given, says what is wrong with an entry. */
static char **
strlist (struct reader *r, const yaml_node_t *n, const char *key, const char *(*check) (const char *) )
{
  char **v = NULL;

  if (n->type == YAML_SCALAR_NODE)
    {
      char *s = str (r, n, key);
      const char *why = s != NULL && check != NULL ? check (s) : NULL;

      if (why != NULL)
        problem (r, n, "'%s': %s", key, why);
      if (s != NULL)
        hoist_strv_push_take (&v, s);
      return v;
    }
  if (n->type != YAML_SEQUENCE_NODE)
    {
      problem (r, n, "'%s' must be a list of strings", key);
      return NULL;
    }
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
    {
      yaml_node_t *e = node (r, *it);
      char *s = e != NULL ? str (r, e, key) : NULL;
      const char *why = s != NULL && check != NULL ? check (s) : NULL;

      if (why != NULL)
        problem (r, e, "'%s': %s", key, why);
      if (s != NULL)
        hoist_strv_push_take (&v, s);
    }
  if (v == NULL)
    problem (r, n, "'%s' must not be empty", key);
  return v;
}

/* ---------------------------------------------------------------------
 * Checks of single values
 * ------------------------------------------------------------------- */

static const char *
check_glob (const char *s)
{
  const char *why = NULL;

  return runner_glob_valid (s[0] == '!' ? s + 1 : s, &why) ? NULL : why;
}

static const char *
check_tag_template (const char *s)
{
  const char *why = NULL;

  return runner_tag_template_valid (s, &why) ? NULL : why;
}

static const char *
check_platform (const char *s)
{
  size_t slashes = 0;

  for (const char *p = s; *p != '\0'; p++)
    if (*p == '/')
      slashes++;
    else if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '-')
      return "a platform is os/arch[/variant], e.g. linux/amd64";
  return slashes == 1 || slashes == 2 ? NULL : "a platform is os/arch[/variant], e.g. linux/amd64";
}

static const char *
check_build_arg (const char *s)
{
  const char *eq = strchr (s, '=');

  return eq != NULL && eq != s ? NULL : "a build argument is KEY=VALUE";
}

/* A path in the repository: relative, no "..", no empty component. */
static const char *
check_repo_path (const char *s)
{
  const char *p = s;

  if (*s == '\0' || *s == '/')
    return "must be a relative path in the repository";
  while (*p != '\0')
    {
      size_t n = strcspn (p, "/");

      if (n == 2 && strncmp (p, "..", 2) == 0)
        return "must not leave the repository ('..')";
      p += n;
      if (*p == '/')
        p++;
    }
  return NULL;
}

static const char *
check_commit_template (const char *s)
{
  static const char *const vars[] = { "image", "tag", "digest", "sha", "short_sha", "repo", "branch", "file" };

  for (const char *p = strchr (s, '{'); p != NULL; p = strchr (p + 1, '{'))
    {
      const char *close = strchr (p, '}');
      bool found = false;

      if (close == NULL)
        return "'{' without '}'";
      for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        found |= (size_t) (close - p - 1) == strlen (vars[i]) && strncmp (p + 1, vars[i], strlen (vars[i])) == 0;
      if (!found)
        return "unknown variable (known: {image} {tag} {digest} {sha} {short_sha} {repo} {branch} {file})";
    }
  return NULL;
}

static const char *
check_url (const char *s)
{
  static const char *const schemes[] = { "https://", "http://", "git://", "ssh://", "file://" };
  const char *rest = NULL;

  if (s[0] == '-')
    return "a URL cannot start with '-'";
  if (s[0] == '/')
    return NULL;
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncmp (s, schemes[i], strlen (schemes[i])) == 0)
      rest = s + strlen (schemes[i]);
  if (rest == NULL)
    return strchr (s, ':') != NULL && strchr (s, '@') != NULL ? NULL
                                                              : "must be an https://, http://, git://, ssh:// or "
                                                                "file:// URL, user@host:path, or an absolute path";
  if (strncmp (s, "http", 4) == 0 && strchr (rest, '@') != NULL && strchr (rest, '@') < rest + strcspn (rest, "/"))
    return "must not hold credentials (hint: put the token in token_file)";
  return NULL;
}

static bool
repo_name_valid (const char *s)
{
  const char *slash = strchr (s, '/');

  if (slash == NULL || slash == s || slash[1] == '\0' || strchr (slash + 1, '/') != NULL)
    return false;
  for (const char *p = s; *p != '\0'; p++)
    if (!isalnum ((unsigned char) *p) && strchr ("/._-", *p) == NULL)
      return false;
  return true;
}

/* host[:port]/path, lowercase path, no tag or digest. */
static bool
image_name_valid (const char *s)
{
  const char *last = strrchr (s, '/');

  if (*s == '\0' || strchr (s, '@') != NULL || (last != NULL && strchr (last, ':') != NULL))
    return false;
  if (last == NULL && strchr (s, ':') != NULL)
    return false;
  for (const char *p = s; *p != '\0'; p++)
    if (!isalnum ((unsigned char) *p) && strchr ("/._-:", *p) == NULL)
      return false;
  for (const char *p = strchr (s, '/') != NULL ? strchr (s, '/') : s; *p != '\0'; p++)
    if (isupper ((unsigned char) *p))
      return false;
  return s[strlen (s) - 1] != '/';
}

static bool
listen_valid (const char *s)
{
  const char *colon = strrchr (s, ':');
  char *end;
  unsigned long port;

  if (colon == NULL || colon[1] == '\0')
    return false;
  port = strtoul (colon + 1, &end, 10);
  return *end == '\0' && port <= 65535 && isdigit ((unsigned char) colon[1]);
}

/* ---------------------------------------------------------------------
 * Mappings
 * ------------------------------------------------------------------- */

static size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), prev[64], cur[64];

  if (la >= 63 || lb >= 63)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      cur[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]), del = prev[j] + 1, ins = cur[j - 1] + 1;

          cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
      memcpy (prev, cur, (lb + 1) * sizeof *cur);
    }
  return prev[lb];
}

/* Call FN for each key of mapping N known in KEYS (NULL-terminated); an
 * unknown or repeated key is an error. */
typedef void (*field_fn) (struct reader *r, void *obj, const char *key, yaml_node_t *value);

static void
each_field (struct reader *r, yaml_node_t *n, const char *what, const char *const *keys, field_fn fn, void *obj)
{
  char **seen = NULL;

  if (n->type != YAML_MAPPING_NODE)
    {
      problem (r, n, "%s must be a mapping of keys, not %s", what, type_name (n));
      return;
    }
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
      yaml_node_t *k = node (r, p->key), *v = node (r, p->value);
      const char *key, *near = NULL;
      bool known = false, dup = false;

      if (k == NULL || v == NULL)
        continue;
      if (k->type != YAML_SCALAR_NODE)
        {
          problem (r, k, "a key of %s must be a string", what);
          continue;
        }
      key = (const char *) k->data.scalar.value;
      if (has_control (key) || strlen (key) > 64)
        {
          problem (r, k, "a key of %s holds control characters or is too long", what);
          continue;
        }
      for (size_t i = 0; seen != NULL && seen[i] != NULL; i++)
        dup |= strcmp (seen[i], key) == 0;
      if (dup)
        {
          problem (r, k, "'%s' is given twice in %s", key, what);
          continue;
        }
      hoist_strv_push (&seen, key);
      for (size_t i = 0; keys[i] != NULL; i++)
        {
          known |= strcmp (keys[i], key) == 0;
          if (near == NULL && edit_distance (keys[i], key) <= 2)
            near = keys[i];
        }
      if (!known && near != NULL)
        problem (r, k, "unknown key '%s' in %s (hint: did you mean '%s'?)", key, what, near);
      else if (!known)
        problem (r, k, "unknown key '%s' in %s", key, what);
      else
        fn (r, obj, key, v);
    }
  hoist_strv_free (seen);
}

/* ---------------------------------------------------------------------
 * The sections
 * ------------------------------------------------------------------- */

static void
deploy_field (struct reader *r, void *obj, const char *key, yaml_node_t *v)
{
  struct runner_deploy *d = obj;
  char *s;

  if (strcmp (key, "kustomization") == 0 || strcmp (key, "file") == 0)
    {
      if (d->file != NULL)
        {
          problem (r, v, "a deploy target takes 'kustomization' or 'file', not both");
          return;
        }
      d->kind = key[0] == 'k' ? RUNNER_DEPLOY_KUSTOMIZE : RUNNER_DEPLOY_YAML;
      s = str (r, v, key);
      if (s != NULL && check_repo_path (s) != NULL)
        problem (r, v, "'%s' %s", key, check_repo_path (s));
      d->file = s;
    }
  else if (strcmp (key, "key") == 0)
    set_str (r, v, key, &d->key);
  else if (strcmp (key, "image") == 0)
    set_str (r, v, key, &d->image);
  else if (strcmp (key, "new_name") == 0)
    set_str (r, v, key, &d->new_name);
  else if (strcmp (key, "digest") == 0)
    boolean (r, v, key, &d->pin_digest);
}

static void
read_deploy (struct reader *r, yaml_node_t *n, struct runner_image *img)
{
  static const char *const keys[] = { "kustomization", "file", "key", "image", "new_name", "digest", NULL };

  if (n->type != YAML_SEQUENCE_NODE)
    {
      problem (r, n, "'deploy' must be a list of targets");
      return;
    }
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
    {
      yaml_node_t *e = node (r, *it);
      struct runner_deploy *d;

      if (e == NULL)
        continue;
      img->deploy = hoist_xreallocarray (img->deploy, img->n_deploy + 1, sizeof *img->deploy);
      d = &img->deploy[img->n_deploy++];
      memset (d, 0, sizeof *d);
      d->line = (unsigned) e->start_mark.line + 1;
      each_field (r, e, "a deploy target", keys, deploy_field, d);
      if (e->type != YAML_MAPPING_NODE)
        continue;
      if (d->file == NULL)
        problem (r, e, "a deploy target needs 'kustomization: FILE' or 'file: FILE' with 'key'");
      else if (d->kind == RUNNER_DEPLOY_YAML && d->key == NULL)
        problem (r, e, "'file: %s' needs 'key' (the dotted path of the value, e.g. image.tag)", d->file);
      else if (d->kind == RUNNER_DEPLOY_KUSTOMIZE && d->key != NULL)
        problem (r, e, "'key' is for 'file' targets; a kustomization's entry is chosen by 'image'");
      if (d->key != NULL && (d->key[0] == '.' || d->key[strlen (d->key) - 1] == '.' || strstr (d->key, "..")))
        problem (r, e, "'key' must be dotted names such as image.tag");
    }
}

static void
build_args_field (struct reader *r, yaml_node_t *n, struct runner_image *img)
{
  if (n->type != YAML_MAPPING_NODE)
    {
      img->build_args = strlist (r, n, "build_args", check_build_arg);
      return;
    }
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
      yaml_node_t *k = node (r, p->key), *v = node (r, p->value);
      cleanup_free char *ks = NULL, *vs = NULL;

      if (k == NULL || v == NULL)
        continue;
      ks = str (r, k, "build_args");
      vs = str (r, v, "build_args");
      if (ks != NULL && vs != NULL)
        hoist_strv_push_take (&img->build_args, hoist_xasprintf ("%s=%s", ks, vs));
    }
}

static void
image_field (struct reader *r, void *obj, const char *key, yaml_node_t *v)
{
  struct runner_image *img = obj;

  if (strcmp (key, "name") == 0)
    {
      set_str (r, v, key, &img->name);
      if (img->name != NULL && !image_name_valid (img->name))
        problem (r, v,
                 "image name '%s' must be a repository without tag or digest, lowercase "
                 "(e.g. ghcr.io/acme/api)",
                 img->name);
    }
  else if (strcmp (key, "context") == 0 || strcmp (key, "dockerfile") == 0)
    {
      char **out = key[0] == 'c' ? &img->context : &img->dockerfile;

      set_str (r, v, key, out);
      if (*out != NULL && strcmp (*out, ".") != 0 && check_repo_path (*out) != NULL)
        problem (r, v, "'%s' %s", key, check_repo_path (*out));
    }
  else if (strcmp (key, "target") == 0)
    set_str (r, v, key, &img->target);
  else if (strcmp (key, "paths") == 0)
    img->paths = strlist (r, v, key, check_glob);
  else if (strcmp (key, "tags") == 0)
    img->tags = strlist (r, v, key, check_tag_template);
  else if (strcmp (key, "platforms") == 0)
    img->platforms = strlist (r, v, key, check_platform);
  else if (strcmp (key, "build_args") == 0)
    build_args_field (r, v, img);
  else if (strcmp (key, "deploy") == 0)
    read_deploy (r, v, img);
}

/* What an image gets when the file does not say. */
static void
image_defaults (struct runner_image *img)
{
  bool root;

  if (img->context == NULL)
    img->context = hoist_xstrdup (".");
  root = strcmp (img->context, ".") == 0;
  if (img->dockerfile == NULL)
    img->dockerfile = root ? hoist_xstrdup ("Dockerfile") : hoist_xasprintf ("%s/Dockerfile", img->context);
  if (img->paths == NULL)
    hoist_strv_push_take (&img->paths, root ? hoist_xstrdup ("**") : hoist_xasprintf ("%s/**", img->context));
  if (img->tags == NULL)
    hoist_strv_push (&img->tags, "{sha}");
}

static void
read_images (struct reader *r, yaml_node_t *n, struct runner_repo *repo)
{
  static const char *const keys[]
      = { "name", "context", "dockerfile", "target", "paths", "tags", "platforms", "build_args", "deploy", NULL };

  if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.start == n->data.sequence.items.top)
    {
      problem (r, n, "'images' must be a non-empty list");
      return;
    }
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
    {
      yaml_node_t *e = node (r, *it);
      struct runner_image *img;

      if (e == NULL)
        continue;
      repo->images = hoist_xreallocarray (repo->images, repo->n_images + 1, sizeof *repo->images);
      img = &repo->images[repo->n_images++];
      memset (img, 0, sizeof *img);
      img->line = (unsigned) e->start_mark.line + 1;
      each_field (r, e, "an image", keys, image_field, img);
      if (img->name == NULL)
        {
          if (e->type == YAML_MAPPING_NODE)
            problem (r, e, "an image needs 'name' (the repository to push to)");
          img->name = hoist_xstrdup ("");
        }
      for (size_t i = 0; i + 1 < repo->n_images; i++)
        if (img->name[0] != '\0' && strcmp (repo->images[i].name, img->name) == 0)
          problem (r, e, "image '%s' is listed twice (first at line %u)", img->name, repo->images[i].line);
      image_defaults (img);
    }
}

static void
repo_field (struct reader *r, void *obj, const char *key, yaml_node_t *v)
{
  struct runner_repo *repo = obj;

  if (strcmp (key, "name") == 0)
    {
      set_str (r, v, key, &repo->name);
      if (repo->name != NULL && !repo_name_valid (repo->name))
        problem (r, v, "repository name '%s' must be OWNER/NAME as GitHub shows it", repo->name);
    }
  else if (strcmp (key, "url") == 0)
    {
      set_str (r, v, key, &repo->url);
      if (repo->url != NULL && check_url (repo->url) != NULL)
        problem (r, v, "'url' %s", check_url (repo->url));
    }
  else if (strcmp (key, "branches") == 0)
    repo->branches = strlist (r, v, key, check_glob);
  else if (strcmp (key, "tags") == 0)
    repo->tag_patterns = strlist (r, v, key, check_glob);
  else if (strcmp (key, "deploy_branch") == 0)
    set_str (r, v, key, &repo->deploy_branch);
  else if (strcmp (key, "token_file") == 0)
    set_str (r, v, key, &repo->token_file);
  else if (strcmp (key, "commit_message") == 0)
    {
      set_str (r, v, key, &repo->commit_message);
      if (repo->commit_message != NULL && check_commit_template (repo->commit_message) != NULL)
        problem (r, v, "'commit_message': %s", check_commit_template (repo->commit_message));
    }
  else if (strcmp (key, "images") == 0)
    read_images (r, v, repo);
}

static void
repo_defaults (struct reader *r, yaml_node_t *e, struct runner_repo *repo)
{
  if (repo->branches == NULL)
    hoist_strv_push (&repo->branches, "main");
  if (repo->deploy_branch == NULL)
    {
      if (strpbrk (repo->branches[0], "*?+[\\!") == NULL)
        repo->deploy_branch = hoist_xstrdup (repo->branches[0]);
      else if (repo->tag_patterns != NULL)
        problem (r, e, "'deploy_branch' is needed: the first branch '%s' is a pattern", repo->branches[0]);
    }
}

static void
read_repos (struct reader *r, yaml_node_t *n, struct runner_config *cfg)
{
  static const char *const keys[]
      = { "name", "url", "branches", "tags", "deploy_branch", "token_file", "commit_message", "images", NULL };

  if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.start == n->data.sequence.items.top)
    {
      problem (r, n, "'repositories' must be a non-empty list");
      return;
    }
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
    {
      yaml_node_t *e = node (r, *it);
      struct runner_repo *repo;

      if (e == NULL)
        continue;
      cfg->repos = hoist_xreallocarray (cfg->repos, cfg->n_repos + 1, sizeof *cfg->repos);
      repo = &cfg->repos[cfg->n_repos++];
      memset (repo, 0, sizeof *repo);
      repo->line = (unsigned) e->start_mark.line + 1;
      each_field (r, e, "a repository", keys, repo_field, repo);
      if (e->type != YAML_MAPPING_NODE)
        continue;
      if (repo->name == NULL)
        problem (r, e, "a repository needs 'name' (OWNER/NAME)");
      if (repo->url == NULL)
        problem (r, e, "a repository needs 'url' (where to clone it from)");
      if (repo->images == NULL)
        problem (r, e, "a repository needs 'images'");
      for (size_t i = 0; repo->name != NULL && i + 1 < cfg->n_repos; i++)
        if (cfg->repos[i].name != NULL && strcasecmp (cfg->repos[i].name, repo->name) == 0)
          problem (r, e, "repository '%s' is listed twice (first at line %u)", repo->name, cfg->repos[i].line);
      repo_defaults (r, e, repo);
    }
}

static void
git_field (struct reader *r, void *obj, const char *key, yaml_node_t *v)
{
  struct runner_config *cfg = obj;

  set_str (r, v, key, key[0] == 'n' ? &cfg->git_name : &cfg->git_email);
}

static void
top_field (struct reader *r, void *obj, const char *key, yaml_node_t *v)
{
  static const char *const git_keys[] = { "name", "email", NULL };
  struct runner_config *cfg = obj;

  if (strcmp (key, "listen") == 0)
    {
      set_str (r, v, key, &cfg->listen);
      if (cfg->listen != NULL && !listen_valid (cfg->listen))
        problem (r, v, "'listen' must be HOST:PORT, [IPv6]:PORT or :PORT");
    }
  else if (strcmp (key, "state_dir") == 0)
    set_str (r, v, key, &cfg->state_dir);
  else if (strcmp (key, "webhook_secret_file") == 0)
    set_str (r, v, key, &cfg->secret_file);
  else if (strcmp (key, "github_token_file") == 0)
    set_str (r, v, key, &cfg->token_file);
  else if (strcmp (key, "status_api") == 0)
    set_str (r, v, key, &cfg->status_api);
  else if (strcmp (key, "public_url") == 0)
    set_str (r, v, key, &cfg->public_url);
  else if (strcmp (key, "commit_message") == 0)
    {
      set_str (r, v, key, &cfg->commit_message);
      if (check_commit_template (cfg->commit_message) != NULL)
        problem (r, v, "'commit_message': %s", check_commit_template (cfg->commit_message));
    }
  else if (strcmp (key, "concurrency") == 0)
    number (r, v, key, 1, 64, &cfg->concurrency);
  else if (strcmp (key, "bump_retries") == 0)
    number (r, v, key, 1, 20, &cfg->bump_retries);
  else if (strcmp (key, "job_timeout") == 0)
    duration (r, v, key, &cfg->job_timeout);
  else if (strcmp (key, "git") == 0)
    each_field (r, v, "'git'", git_keys, git_field, cfg);
  else if (strcmp (key, "repositories") == 0)
    {
      r->saw_repositories = true;
      read_repos (r, v, cfg);
    }
}

static void
set_default (char **field, const char *value)
{
  if (*field == NULL)
    *field = hoist_xstrdup (value);
}

static void
read_top (struct reader *r, yaml_node_t *root, struct runner_config *cfg)
{
  static const char *const keys[] = {
    "listen",
    "state_dir",
    "webhook_secret_file",
    "github_token_file",
    "status_api",
    "public_url",
    "commit_message",
    "concurrency",
    "bump_retries",
    "job_timeout",
    "git",
    "repositories",
    NULL,
  };

  cfg->concurrency = 1;
  cfg->bump_retries = 5;
  cfg->job_timeout = 3600;
  each_field (r, root, "the configuration", keys, top_field, cfg);
  if (root->type != YAML_MAPPING_NODE)
    return;
  if (cfg->secret_file == NULL)
    problem (r, root, "'webhook_secret_file' is required (the file holding the webhook's secret)");
  if (!r->saw_repositories)
    problem (r, root, "'repositories' is required (the repositories hoist builds)");
  set_default (&cfg->listen, "127.0.0.1:8080");
  set_default (&cfg->state_dir, "/var/lib/hoist");
  set_default (&cfg->git_name, "hoist");
  set_default (&cfg->git_email, "hoist@localhost");
  set_default (&cfg->status_api, "https://api.github.com");
  set_default (&cfg->commit_message, DEFAULT_MESSAGE);
  if (cfg->public_url != NULL)
    {
      size_t n = strlen (cfg->public_url);

      while (n > 0 && cfg->public_url[n - 1] == '/')
        cfg->public_url[--n] = '\0';
    }
}

/* ---------------------------------------------------------------------
 * Parsing, releasing, looking up
 * ------------------------------------------------------------------- */

static void
release_image (struct runner_image *img)
{
  free (img->name);
  free (img->context);
  free (img->dockerfile);
  free (img->target);
  hoist_strv_free (img->paths);
  hoist_strv_free (img->tags);
  hoist_strv_free (img->platforms);
  hoist_strv_free (img->build_args);
  for (size_t i = 0; i < img->n_deploy; i++)
    {
      free (img->deploy[i].file);
      free (img->deploy[i].key);
      free (img->deploy[i].image);
      free (img->deploy[i].new_name);
    }
  free (img->deploy);
}

void
runner_config_release (struct runner_config *cfg)
{
  for (size_t r = 0; r < cfg->n_repos; r++)
    {
      struct runner_repo *repo = &cfg->repos[r];

      free (repo->name);
      free (repo->url);
      hoist_strv_free (repo->branches);
      hoist_strv_free (repo->tag_patterns);
      free (repo->deploy_branch);
      free (repo->token_file);
      free (repo->commit_message);
      for (size_t i = 0; i < repo->n_images; i++)
        release_image (&repo->images[i]);
      free (repo->images);
    }
  free (cfg->repos);
  free (cfg->listen);
  free (cfg->state_dir);
  free (cfg->secret_file);
  free (cfg->token_file);
  free (cfg->git_name);
  free (cfg->git_email);
  free (cfg->status_api);
  free (cfg->public_url);
  free (cfg->commit_message);
  memset (cfg, 0, sizeof *cfg);
}

/* libyaml's own complaint, with its line. */
static void
syntax_problem (struct reader *r, const yaml_parser_t *p)
{
  cleanup_free char *what = hoist_quote (p->problem != NULL ? p->problem : "malformed YAML",
                                         p->problem != NULL ? strlen (p->problem) : 14, 200, 0);

  if (hoist_buf_addf (&r->errors, NULL, "%s:%zu: not valid YAML: %s%s%s", r->name, p->problem_mark.line + 1, what,
                      p->context != NULL ? " " : "", p->context != NULL ? p->context : "")
      < 0)
    abort ();
  r->n_errors++;
}

static void
read_document (struct reader *r, yaml_parser_t *p, struct runner_config *cfg)
{
  yaml_document_t extra;
  yaml_node_t *root;

  r->n_nodes = (size_t) (r->doc.nodes.top - r->doc.nodes.start);
  r->visited = hoist_xcalloc (r->n_nodes + 1, sizeof *r->visited);
  root = node (r, 1);
  if (root == NULL)
    {
      problem (r, NULL, "the configuration is empty: 'webhook_secret_file' and 'repositories' are required");
      return;
    }
  read_top (r, root, cfg);
  if (!yaml_parser_load (p, &extra))
    {
      syntax_problem (r, p);
      return;
    }
  if (yaml_document_get_root_node (&extra) != NULL)
    problem (r, NULL, "hoist.yml holds more than one YAML document (---): one is read");
  yaml_document_delete (&extra);
}

int
runner_config_parse (const char *text, size_t len, const char *name, struct runner_config *cfg,
                     struct hoist_error **err)
{
  struct reader r = { .name = name };
  yaml_parser_t p;
  int ret = 0;

  memset (cfg, 0, sizeof *cfg);
  if (len > RUNNER_CONFIG_MAX_BYTES)
    return hoist_error_set (err, 0, "%s: larger than %u bytes", name, RUNNER_CONFIG_MAX_BYTES);
  hoist_buf_init (&r.errors, HOIST_BUF_NO_LIMIT);
  yaml_parser_initialize (&p);
  yaml_parser_set_input_string (&p, (const unsigned char *) text, len);
  if (!yaml_parser_load (&p, &r.doc))
    syntax_problem (&r, &p);
  else
    {
      read_document (&r, &p, cfg);
      yaml_document_delete (&r.doc);
    }
  yaml_parser_delete (&p);
  free (r.visited);
  if (r.n_errors > 0)
    {
      if (r.n_errors > RUNNER_CONFIG_MAX_ERRORS)
        if (hoist_buf_addf (&r.errors, NULL, "\n%s: %u more errors not shown", name,
                            r.n_errors - RUNNER_CONFIG_MAX_ERRORS)
            < 0)
          abort ();
      ret = hoist_error_set (err, 0, "%s", r.errors.data);
      runner_config_release (cfg);
    }
  hoist_buf_release (&r.errors);
  return ret;
}

int
runner_config_load (const char *path, struct runner_config *cfg, struct hoist_error **err)
{
  cleanup_buf struct hoist_buf b;

  memset (cfg, 0, sizeof *cfg);
  hoist_buf_init (&b, RUNNER_CONFIG_MAX_BYTES);
  if (hoist_buf_read_file (&b, path, err) < 0)
    return hoist_error_wrap (err, "cannot read the configuration");
  return runner_config_parse (b.data != NULL ? b.data : "", b.len, path, cfg, err);
}

const struct runner_repo *
runner_config_repo (const struct runner_config *cfg, const char *full_name)
{
  for (size_t i = 0; full_name != NULL && i < cfg->n_repos; i++)
    if (cfg->repos[i].name != NULL && strcasecmp (cfg->repos[i].name, full_name) == 0)
      return &cfg->repos[i];
  return NULL;
}

bool
runner_repo_wants_ref (const struct runner_repo *repo, const char *ref)
{
  char *const *patterns = NULL;
  const char *name = NULL;

  if (strncmp (ref, "refs/heads/", 11) == 0)
    {
      patterns = repo->branches;
      name = ref + 11;
    }
  else if (strncmp (ref, "refs/tags/", 10) == 0)
    {
      patterns = repo->tag_patterns;
      name = ref + 10;
    }
  return name != NULL && runner_paths_match (patterns, name);
}
