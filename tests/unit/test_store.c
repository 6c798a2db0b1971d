/* test_store.c — the OCI layout content store and the image config,
 * manifest and index, checked against the real readers: skopeo, umoci and
 * the image-spec JSON schemas (tests/oci/validate.py).
 *
 * Those tools are required, not optional: a test that needs one fails and
 * names the Debian package to install (skopeo, umoci, python3-jsonschema),
 * so CI can never pass by silently skipping the interop checks. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/builder.h"

extern char **environ;

#define CREATED "2024-05-01T12:00:00Z"
#define HELLO "hello from hoist\n"

/* ---- Helpers ---------------------------------------------------------- */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static int
setup (void **state)
{
  char tmpl[] = "/tmp/hoist-test-store-XXXXXX";

  if (mkdtemp (tmpl) == NULL)
    return -1;
  *state = hoist_xstrdup (tmpl);
  return 0;
}

static int
teardown (void **state)
{
  nftw (*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free (*state);
  return 0;
}

static char *
path_in (void **state, const char *name)
{
  return hoist_xasprintf ("%s/%s", (const char *) *state, name);
}

static void
write_file (const char *path, const char *content)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
}

static void
read_file (const char *path, struct hoist_buf *b)
{
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (b, 64 * 1024 * 1024);
  if (hoist_buf_read_file (b, path, &err) < 0)
    fail_msg ("%s", err->msg);
}

/* Run ARGV (environment inherited); stdout into OUT when not NULL.
 * Returns the exit code, printing stderr when it is not 0. */
static int
run (char *const *argv, struct hoist_buf *out)
{
  cleanup_buf struct hoist_buf errbuf;
  cleanup_error struct hoist_error *err = NULL;
  struct hoist_spawn_result res;
  struct hoist_spawn_opts o = {
    .argv = argv,
    .envp = environ,
    .stdin_fd = -1,
    .stdout_mode = out ? HOIST_SPAWN_CAPTURE : HOIST_SPAWN_NULL,
    .stdout_buf = out,
    .stderr_mode = HOIST_SPAWN_CAPTURE,
    .stderr_buf = &errbuf,
    .timeout_ms = 300000,
  };

  hoist_buf_init (&errbuf, 1024 * 1024);
  if (hoist_spawn (&o, &res, &err) < 0)
    fail_msg ("cannot run '%s': %s", argv[0], err->msg);
  if (res.signaled)
    fail_msg ("'%s' killed by signal %d: %s", argv[0], res.term_signal, errbuf.data);
  if (res.exit_code != 0)
    print_message ("'%s' exited with %d: %s\n", argv[0], res.exit_code, errbuf.data);
  return res.exit_code;
}

static void
need_tool (const char *prog, const char *package)
{
  const char *path = getenv ("PATH");

  for (const char *d = path ? path : "/usr/bin:/bin"; *d != '\0';)
    {
      size_t n = strcspn (d, ":");
      cleanup_free char *p = hoist_xasprintf ("%.*s/%s", (int) n, d, prog);
      if (n > 0 && access (p, X_OK) == 0)
        return;
      d += n + (d[n] == ':');
    }
  fail_msg ("'%s' is not installed: apt-get install %s (CI must install it)", prog, package);
}

static char *
validate_py (void)
{
  const char *src = getenv ("HOIST_SRCDIR");
  const char *file = __FILE__;
  const char *tail = strstr (file, "tests/unit/test_store.c");

  if (src != NULL)
    return hoist_xasprintf ("%s/tests/oci/validate.py", src);
  if (tail != NULL && tail != file)
    return hoist_xasprintf ("%.*stests/oci/validate.py", (int) (tail - file), file);
  return hoist_xstrdup ("tests/oci/validate.py");
}

static void
need_jsonschema (void)
{
  char *const argv[] = { "python3", "-c", "import jsonschema", NULL };

  need_tool ("python3", "python3");
  if (run (argv, NULL) != 0)
    fail_msg ("python3 cannot import jsonschema: apt-get install python3-jsonschema (CI must install it)");
}

/* validate.py's exit status for KIND ("layout", "manifest", ...) on PATH. */
static int
validate (const char *kind, const char *path)
{
  cleanup_free char *script = validate_py ();
  char *const argv[] = { "python3", script, (char *) kind, *path ? (char *) path : NULL, NULL };

  need_jsonschema ();
  return run (argv, NULL);
}

static json_t *
parse_json (const struct hoist_buf *b)
{
  json_error_t jerr;
  json_t *j = json_loadb (b->data, b->len, 0, &jerr);

  if (j == NULL)
    fail_msg ("not JSON: %s: %s", jerr.text, b->data);
  return j;
}

static const char *
host_arch (void)
{
  static struct utsname u;

  uname (&u);
  if (strcmp (u.machine, "x86_64") == 0)
    return "amd64";
  if (strcmp (u.machine, "aarch64") == 0)
    return "arm64";
  return u.machine;
}

static struct builder_store *
open_store (const char *dir)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_store *s = NULL;

  if (builder_store_open (dir, true, &s, &err) < 0)
    fail_msg ("%s", err->msg);
  return s;
}

static void
store_freep (struct builder_store **s)
{
  builder_store_free (*s);
}
#define cleanup_store __attribute__ ((cleanup (store_freep)))

static void
desc_releasep (struct builder_descriptor *d)
{
  builder_descriptor_release (d);
}
#define cleanup_desc __attribute__ ((cleanup (desc_releasep)))

/* Store LEN bytes of DATA as a blob; its digest into DIGEST. */
static void
put_bytes (struct builder_store *s, const void *data, size_t len, char digest[HOIST_DIGEST_STR_SIZE])
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_blob_ingest *ing = NULL;
  int64_t size = -1;

  assert_int_equal (hoist_sha256_digest (data, len, digest, &err), 0);
  assert_int_equal (builder_store_blob_begin (s, &ing, &err), 0);
  assert_int_equal (write (builder_blob_ingest_fd (ing), data, len), (ssize_t) len);
  if (builder_store_blob_commit (s, ing, digest, 0, &size, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (size, (int64_t) len);
}

/* A gzip layer made by the system tar from DIR/rootfs: /hello.txt and
 * /etc/greeting. */
struct layer
{
  char digest[HOIST_DIGEST_STR_SIZE];
  char diff_id[HOIST_DIGEST_STR_SIZE];
  int64_t size;
};

static void
make_layer (void **state, struct builder_store *s, struct layer *l)
{
  cleanup_free char *rootfs = path_in (state, "rootfs");
  cleanup_free char *etc = path_in (state, "rootfs/etc");
  cleanup_free char *hello = path_in (state, "rootfs/hello.txt");
  cleanup_free char *greeting = path_in (state, "rootfs/etc/greeting");
  cleanup_free char *tgz = path_in (state, "layer.tar.gz");
  char *const tar[] = { "tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-czf", tgz,
                        "-C",  rootfs,        ".",         NULL };
  char *const gunzip[] = { "gzip", "-dc", tgz, NULL };
  cleanup_buf struct hoist_buf tarbytes;
  cleanup_buf struct hoist_buf gz;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (mkdir (rootfs, 0755), 0);
  assert_int_equal (mkdir (etc, 0755), 0);
  write_file (hello, HELLO);
  write_file (greeting, "hi\n");
  need_tool ("tar", "tar");
  assert_int_equal (run (tar, NULL), 0);
  hoist_buf_init (&tarbytes, 16 * 1024 * 1024);
  assert_int_equal (run (gunzip, &tarbytes), 0);
  assert_true (tarbytes.len >= 2048);
  assert_int_equal (hoist_sha256_digest (tarbytes.data, tarbytes.len, l->diff_id, &err), 0);
  read_file (tgz, &gz);
  put_bytes (s, gz.data, gz.len, l->digest);
  l->size = (int64_t) gz.len;
}

static struct builder_image_config *
make_config (const struct layer *l)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_image_config *cfg = builder_image_config_new ("linux", host_arch ());
  char *const cmd[] = { "/bin/sh", "-c", "cat /hello.txt", NULL };

  cfg->created = hoist_xstrdup (CREATED);
  builder_image_config_set_env (cfg, "PATH", "/usr/local/bin:/usr/bin:/bin");
  builder_image_config_set_env (cfg, "GREETING", "hello");
  builder_strv_replace (&cfg->config.cmd, cmd);
  builder_map_set (&cfg->config.labels, "org.example.test", "yes");
  builder_image_config_add_port (cfg, "8080/tcp");
  cfg->config.working_dir = hoist_xstrdup ("/");
  if (builder_image_config_add_layer (cfg, l->diff_id, CREATED, "COPY hello.txt /", NULL, &err) < 0)
    fail_msg ("%s", err->msg);
  builder_image_config_add_history (cfg, CREATED, "CMD [\"/bin/sh\" \"-c\" \"cat /hello.txt\"]", NULL, true);
  return cfg;
}

/* Config + manifest for layer L, stored; the manifest tagged TAG. */
static void
make_image (struct builder_store *s, const struct layer *l, const char *tag, struct builder_descriptor *mdesc)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_image_config *cfg = make_config (l);
  json_t *cj = builder_image_config_to_json (cfg);
  struct builder_manifest *m = builder_manifest_new ();
  struct builder_descriptor ld;
  json_t *mj;

  assert_int_equal (builder_store_put_json (s, cj, BUILDER_MT_OCI_CONFIG, &m->config, &err), 0);
  builder_descriptor_init (&ld);
  builder_descriptor_set (&ld, BUILDER_MT_OCI_LAYER_GZIP, l->digest, l->size);
  builder_manifest_add_layer (m, &ld);
  builder_descriptor_release (&ld);
  mj = builder_manifest_to_json (m);
  assert_int_equal (builder_store_put_json (s, mj, BUILDER_MT_OCI_MANIFEST, mdesc, &err), 0);
  if (builder_store_tag (s, tag, mdesc, &err) < 0)
    fail_msg ("%s", err->msg);
  json_decref (cj);
  json_decref (mj);
  builder_manifest_free (m);
  builder_image_config_free (cfg);
}

static bool
has_tmp_files (const char *blobs_dir)
{
  cleanup_buf struct hoist_buf out;
  char *const ls[] = { "ls", "-A", (char *) blobs_dir, NULL };

  hoist_buf_init (&out, 1024 * 1024);
  assert_int_equal (run (ls, &out), 0);
  return strstr (out.data, ".tmp-") != NULL;
}

/* ---- Opening a layout --------------------------------------------------- */

static void
test_open_creates_layout (void **state)
{
  cleanup_free char *dir = path_in (state, "a/b/layout");
  cleanup_free char *layout = path_in (state, "a/b/layout/oci-layout");
  cleanup_free char *index = path_in (state, "a/b/layout/index.json");
  cleanup_free char *blobs = path_in (state, "a/b/layout/blobs/sha256");
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_store *s = NULL;
  struct stat st;

  assert_int_equal (builder_store_open (dir, true, &s, &err), 0);
  assert_string_equal (builder_store_path (s), dir);
  builder_store_free (s);
  read_file (layout, &b);
  assert_string_equal (b.data, "{\"imageLayoutVersion\":\"1.0.0\"}");
  hoist_buf_release (&b);
  read_file (index, &b);
  assert_string_equal (b.data, "{\"manifests\":[],\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                               "\"schemaVersion\":2}");
  assert_int_equal (stat (blobs, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  /* Opening it again, with or without create, finds the layout. */
  assert_int_equal (builder_store_open (dir, false, &s, &err), 0);
  builder_store_free (s);
  assert_int_equal (builder_store_open (dir, true, &s, &err), 0);
  builder_store_free (s);
  assert_int_equal (validate ("layout", dir), 0);
}

static void
test_open_refuses_non_layout (void **state)
{
  cleanup_free char *dir = path_in (state, "project");
  cleanup_free char *file = path_in (state, "project/main.c");
  cleanup_free char *missing = path_in (state, "missing");
  cleanup_free char *empty = path_in (state, "empty");
  cleanup_free char *other = path_in (state, "other");
  cleanup_free char *other_layout = path_in (state, "other/oci-layout");
  cleanup_free char *msg = NULL;
  cleanup_error struct hoist_error *err = NULL;
  struct builder_store *s = NULL;

  assert_int_equal (mkdir (dir, 0755), 0);
  write_file (file, "int main;\n");
  assert_true (builder_store_open (dir, true, &s, &err) < 0);
  msg = hoist_xasprintf ("'%s' is not an OCI image layout: it has no oci-layout file and is not empty "
                         "(hint: choose a new or empty directory)",
                         dir);
  assert_string_equal (err->msg, msg);
  assert_null (s);
  assert_int_equal (access (file, F_OK), 0); /* untouched */

  free (msg);
  assert_int_equal (builder_store_open (missing, false, &s, &err), -ENOENT);
  msg = hoist_xasprintf ("cannot open layout '%s': No such file or directory", missing);
  assert_string_equal (err->msg, msg);

  free (msg);
  assert_int_equal (mkdir (empty, 0755), 0);
  assert_int_equal (builder_store_open (empty, false, &s, &err), -ENOENT);
  msg = hoist_xasprintf ("'%s' is not an OCI image layout: it has no oci-layout file", empty);
  assert_string_equal (err->msg, msg);

  free (msg);
  assert_int_equal (mkdir (other, 0755), 0);
  write_file (other_layout, "{\"imageLayoutVersion\":\"2.0.0\"}");
  assert_int_equal (builder_store_open (other, true, &s, &err), -ENOTSUP);
  msg = hoist_xasprintf ("'%s': unsupported imageLayoutVersion '2.0.0'", other);
  assert_string_equal (err->msg, msg);
}

/* ---- Blobs ------------------------------------------------------------------ */

static void
test_blob_digest_refused (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *blobs = path_in (state, "layout/blobs");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  static const char *const bad[] = {
    "sha256:../../etc/passwd",
    "sha256:../../../../../../../../../../../../../../../../../../../../../../../../etc/passwd",
    "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/",
    "",
  };
  int fd = -1;

  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      cleanup_free char *msg = hoist_xasprintf ("invalid digest '%s'", bad[i]);
      struct builder_blob_ingest *ing = NULL;

      assert_false (builder_store_has_blob (s, bad[i]));
      assert_int_equal (builder_store_blob_open (s, bad[i], &fd, NULL, &err), -EINVAL);
      assert_string_equal (err->msg, msg);
      assert_int_equal (builder_store_blob_begin (s, &ing, &err), 0);
      assert_int_equal (write (builder_blob_ingest_fd (ing), "x", 1), 1);
      assert_true (builder_store_blob_commit (s, ing, bad[i], 0, NULL, &err) < 0);
      free (msg);
      msg = hoist_xasprintf ("cannot store blob in '%s': invalid digest '%s'", dir, bad[i]);
      assert_string_equal (err->msg, msg);
    }
  /* Nothing was written outside blobs/sha256, no temp file is left. */
  assert_false (has_tmp_files (blobs));
  assert_int_equal (access ("/etc/passwd", F_OK), 0);
}

static void
test_blob_ingest (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *blobs = path_in (state, "layout/blobs");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_blob_ingest *ing = NULL;
  char digest[HOIST_DIGEST_STR_SIZE], digest2[HOIST_DIGEST_STR_SIZE];
  cleanup_free char *path = NULL;
  cleanup_free char *msg = NULL;
  struct stat st1, st2;
  int64_t size = 0;
  int fd = -1;
  char buf[16];

  put_bytes (s, "hello", 5, digest);
  assert_string_equal (digest, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  assert_true (builder_store_has_blob (s, digest));
  path = hoist_xasprintf ("%s/blobs/sha256/%s", dir, digest + 7);
  assert_int_equal (stat (path, &st1), 0);

  /* The same content again: the first file stays, the temp goes. */
  put_bytes (s, "hello", 5, digest2);
  assert_int_equal (stat (path, &st2), 0);
  assert_int_equal (st1.st_ino, st2.st_ino);

  /* VERIFY re-hashes what was written. */
  assert_int_equal (builder_store_blob_begin (s, &ing, &err), 0);
  assert_int_equal (write (builder_blob_ingest_fd (ing), "hellO", 5), 5);
  assert_int_equal (builder_store_blob_commit (s, ing, digest, BUILDER_BLOB_VERIFY, NULL, &err), -EBADMSG);
  msg = hoist_xasprintf ("cannot store blob in '%s': blob content does not match digest '%s' (got "
                         "'sha256:04a6f55face2f46be8c23f627d539827615851e10751b63ec59db6d2c706b770')",
                         dir, digest);
  assert_string_equal (err->msg, msg);
  assert_false (has_tmp_files (blobs));
  assert_int_equal (builder_store_blob_begin (s, &ing, &err), 0);
  assert_int_equal (write (builder_blob_ingest_fd (ing), "world", 5), 5);
  assert_int_equal (
      builder_store_blob_commit (s, ing, "sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7",
                                 BUILDER_BLOB_VERIFY, &size, &err),
      0);
  assert_int_equal (size, 5);

  /* Abort leaves nothing. */
  assert_int_equal (builder_store_blob_begin (s, &ing, &err), 0);
  assert_true (has_tmp_files (blobs));
  builder_store_blob_abort (s, ing);
  assert_false (has_tmp_files (blobs));

  assert_int_equal (builder_store_blob_open (s, digest, &fd, &size, &err), 0);
  assert_int_equal (size, 5);
  assert_int_equal (read (fd, buf, sizeof (buf)), 5);
  assert_memory_equal (buf, "hello", 5);
  close (fd);
  assert_int_equal (builder_store_blob_open (
                        s, "sha256:0000000000000000000000000000000000000000000000000000000000000000", &fd, NULL, &err),
                    -ENOENT);
}

static void
test_blob_symlink_refused (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  const char *digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  cleanup_free char *link = hoist_xasprintf ("%s/blobs/sha256/%s", dir, digest + 7);
  int fd = -1;

  /* A symlink planted in blobs/ is not followed out of the layout. */
  assert_int_equal (symlink ("/etc/passwd", link), 0);
  assert_false (builder_store_has_blob (s, digest));
  assert_int_equal (builder_store_blob_open (s, digest, &fd, NULL, &err), -ELOOP);
  assert_int_equal (fd, -1);
}

/* ---- JSON blobs -------------------------------------------------------------- */

static void
test_json_blob_corrupt (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor d;
  cleanup_json json_t *doc = json_pack ("{s:s, s:[i,i]}", "b", "x", "a", 1, 2);
  cleanup_json json_t *back = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *msg = NULL;
  const char *digest = "sha256:d0f56dda38d34376527524ddd98f7ec117d5cbfb240f86e11bfb9d2d01a717d9";
  char got[HOIST_DIGEST_STR_SIZE];
  int fd;

  assert_int_equal (builder_store_put_json (s, doc, "application/json", &d, &err), 0);
  assert_string_equal (d.media_type, "application/json");
  assert_string_equal (d.digest, digest);
  assert_int_equal (d.size, 19);
  assert_int_equal (builder_store_read_json (s, d.digest, 0, &back, &err), 0);
  assert_true (json_equal (doc, back));

  /* One byte changed, same size: the read notices. */
  path = hoist_xasprintf ("%s/blobs/sha256/%s", dir, digest + 7);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (pwrite (fd, "{\"a\":[1,3],", 11, 0), 11);
  close (fd);
  assert_int_equal (hoist_sha256_digest ("{\"a\":[1,3],\"b\":\"x\"}", 19, got, &err), 0);
  assert_int_equal (builder_store_read_json (s, digest, 0, &back, &err), -EBADMSG);
  msg = hoist_xasprintf ("blob '%s' in '%s' is corrupt: its content hashes to '%s'", digest, dir, got);
  assert_string_equal (err->msg, msg);
}

static void
test_json_blob_oversize (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *big = hoist_xmalloc (BUILDER_JSON_BLOB_MAX + 1);
  cleanup_free char *msg = NULL;
  json_t *j = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];

  /* A valid JSON array one byte over the cap. */
  memset (big, ' ', BUILDER_JSON_BLOB_MAX + 1);
  big[0] = '[';
  big[BUILDER_JSON_BLOB_MAX] = ']';
  put_bytes (s, big, BUILDER_JSON_BLOB_MAX + 1, digest);
  assert_int_equal (builder_store_read_json (s, digest, 0, &j, &err), -E2BIG);
  msg = hoist_xasprintf ("blob '%s' is 4194305 bytes, over the limit of 4194304", digest);
  assert_string_equal (err->msg, msg);
  assert_null (j);
  /* Under a larger explicit limit it parses. */
  assert_int_equal (builder_store_read_json (s, digest, BUILDER_JSON_BLOB_MAX + 1, &j, &err), 0);
  assert_true (json_is_array (j));
  json_decref (j);
  j = NULL;
  put_bytes (s, "{\"a\":1,\"a\":2}", 13, digest);
  assert_int_equal (builder_store_read_json (s, digest, 0, &j, &err), -EINVAL);
  assert_non_null (strstr (err->msg, "duplicate object key"));
}

/* ---- Tags ------------------------------------------------------------------------ */

static void
put_doc (struct builder_store *s, const char *text, struct builder_descriptor *d)
{
  cleanup_error struct hoist_error *err = NULL;
  json_t *j = json_loads (text, 0, NULL);

  assert_non_null (j);
  assert_int_equal (builder_store_put_json (s, j, BUILDER_MT_OCI_MANIFEST, d, &err), 0);
  json_decref (j);
}

static void
test_tag_replace_keep (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m1;
  cleanup_desc struct builder_descriptor m2;
  cleanup_desc struct builder_descriptor r;
  cleanup_free char *msg = NULL;
  struct builder_store_image *imgs = NULL;
  size_t n = 0;

  put_doc (s, "{\"n\":1}", &m1);
  put_doc (s, "{\"n\":2}", &m2);
  assert_int_equal (builder_store_tag (s, "b", &m1, &err), 0);
  assert_int_equal (builder_store_tag (s, "a", &m1, &err), 0);
  assert_int_equal (builder_store_tag (s, "a", &m2, &err), 0);
  assert_int_equal (builder_store_resolve (s, "a", &r, &err), 0);
  assert_string_equal (r.digest, m2.digest);
  assert_string_equal (builder_map_get (&r.annotations, BUILDER_ANNOTATION_REF_NAME), "a");
  builder_descriptor_release (&r);
  assert_int_equal (builder_store_resolve (s, "b", &r, &err), 0);
  assert_string_equal (r.digest, m1.digest);
  builder_descriptor_release (&r);

  assert_int_equal (builder_store_list (s, &imgs, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (imgs[0].tag, "a");
  assert_string_equal (imgs[0].desc.digest, m2.digest);
  assert_string_equal (imgs[1].tag, "b");
  assert_null (imgs[1].created); /* not an image: no config to date it */
  builder_store_images_free (imgs, n);

  assert_int_equal (builder_store_untag (s, "b", &err), 0);
  assert_int_equal (builder_store_resolve (s, "b", &r, &err), -ENOENT);
  msg = hoist_xasprintf ("tag 'b' is not in '%s'", dir);
  assert_string_equal (err->msg, msg);
  assert_int_equal (builder_store_untag (s, "b", &err), -ENOENT);
  assert_int_equal (builder_store_resolve (s, "a", &r, &err), 0);

  /* Bad tags and dangling descriptors are refused. */
  assert_int_equal (builder_store_tag (s, "../x", &m1, &err), -EINVAL);
  assert_string_equal (err->msg, "invalid tag '../x'");
  free (msg);
  builder_descriptor_set (&m1, BUILDER_MT_OCI_MANIFEST,
                          "sha256:2222222222222222222222222222222222222222222222222222222222222222", 2);
  assert_int_equal (builder_store_tag (s, "c", &m1, &err), -ENOENT);
  msg = hoist_xasprintf ("cannot tag 'c': blob "
                         "'sha256:2222222222222222222222222222222222222222222222222222222222222222' is not in '%s'",
                         dir);
  assert_string_equal (err->msg, msg);
}

static void
test_tag_valid (void **state)
{
  cleanup_free char *long_tag = hoist_xmalloc (257);

  assert_true (builder_store_tag_valid ("v1"));
  assert_true (builder_store_tag_valid ("ghcr.io/org/app:1.2.3"));
  assert_true (builder_store_tag_valid ("a--b"));
  assert_true (builder_store_tag_valid ("a@b+c_d"));
  assert_false (builder_store_tag_valid (""));
  assert_false (builder_store_tag_valid ("-a"));
  assert_false (builder_store_tag_valid ("a."));
  assert_false (builder_store_tag_valid ("a..b"));
  assert_false (builder_store_tag_valid ("a---b"));
  assert_false (builder_store_tag_valid ("a//b"));
  assert_false (builder_store_tag_valid ("a b"));
  assert_false (builder_store_tag_valid ("../etc"));
  memset (long_tag, 'a', 256);
  long_tag[256] = '\0';
  assert_false (builder_store_tag_valid (long_tag));
  long_tag[255] = '\0';
  assert_true (builder_store_tag_valid (long_tag));
}

#define TAGGERS 2
#define TAGS_EACH 25

static void
test_tag_concurrent (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  struct builder_store_image *imgs = NULL;
  size_t n = 0;
  pid_t pids[TAGGERS];

  put_doc (s, "{\"n\":1}", &m);
  assert_int_equal (builder_store_tag (s, "before", &m, &err), 0);
  for (int p = 0; p < TAGGERS; p++)
    {
      pids[p] = fork ();
      assert_true (pids[p] >= 0);
      if (pids[p] == 0)
        {
          /* Each child is its own hoist process: its own store. */
          struct builder_store *cs = NULL;
          int bad = builder_store_open (dir, false, &cs, NULL) < 0;
          for (int i = 0; !bad && i < TAGS_EACH; i++)
            {
              char tag[32];
              snprintf (tag, sizeof (tag), "p%d-t%d", p, i);
              bad = builder_store_tag (cs, tag, &m, NULL) < 0;
            }
          builder_store_free (cs);
          _exit (bad);
        }
    }
  for (int p = 0; p < TAGGERS; p++)
    {
      int status;
      assert_int_equal (waitpid (pids[p], &status, 0), pids[p]);
      assert_true (WIFEXITED (status));
      assert_int_equal (WEXITSTATUS (status), 0);
    }
  assert_int_equal (builder_store_list (s, &imgs, &n, &err), 0);
  assert_int_equal (n, 1 + TAGGERS * TAGS_EACH);
  for (int p = 0; p < TAGGERS; p++)
    for (int i = 0; i < TAGS_EACH; i++)
      {
        char tag[32];
        cleanup_desc struct builder_descriptor r;
        snprintf (tag, sizeof (tag), "p%d-t%d", p, i);
        assert_int_equal (builder_store_resolve (s, tag, &r, &err), 0);
      }
  builder_store_images_free (imgs, n);
}

/* ---- A real image, read by skopeo and umoci ----------------------------------- */

static json_t *
skopeo_inspect (const char *transport_ref, const char *flag)
{
  cleanup_buf struct hoist_buf out;
  char *const argv[] = { "skopeo", "inspect", (char *) transport_ref, NULL };
  char *const argv_flag[] = { "skopeo", "inspect", (char *) flag, (char *) transport_ref, NULL };

  need_tool ("skopeo", "skopeo");
  hoist_buf_init (&out, 16 * 1024 * 1024);
  assert_int_equal (run (flag ? argv_flag : argv, &out), 0);
  return parse_json (&out);
}

static void
check_skopeo_image (const char *ref, const char *digest, const struct layer *l)
{
  cleanup_json json_t *info = skopeo_inspect (ref, NULL);
  cleanup_json json_t *cfg = skopeo_inspect (ref, "--config");

  assert_string_equal (json_string_value (json_object_get (info, "Digest")), digest);
  assert_int_equal (json_array_size (json_object_get (info, "Layers")), 1);
  assert_string_equal (json_string_value (json_array_get (json_object_get (info, "Layers"), 0)), l->digest);
  assert_string_equal (json_string_value (json_object_get (info, "Os")), "linux");
  assert_string_equal (json_string_value (json_object_get (info, "Architecture")), host_arch ());
  assert_string_equal (json_string_value (json_object_get (json_object_get (info, "Labels"), "org.example.test")),
                       "yes");
  assert_string_equal (json_string_value (json_object_get (cfg, "created")), CREATED);
  assert_string_equal (
      json_string_value (json_array_get (json_object_get (json_object_get (cfg, "rootfs"), "diff_ids"), 0)),
      l->diff_id);
  assert_string_equal (json_string_value (json_array_get (json_object_get (json_object_get (cfg, "config"), "Env"), 1)),
                       "GREETING=hello");
}

static void
test_image_interop (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *bundle = path_in (state, "bundle");
  cleanup_free char *hello = path_in (state, "bundle/rootfs/hello.txt");
  cleanup_free char *greeting = path_in (state, "bundle/rootfs/etc/greeting");
  cleanup_free char *ref = hoist_xasprintf ("oci:%s:v1", dir);
  cleanup_free char *umoci_ref = hoist_xasprintf ("%s:v1", dir);
  char *const umoci[] = { "umoci", "unpack", "--rootless", "--image", umoci_ref, bundle, NULL };
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  cleanup_buf struct hoist_buf raw;
  cleanup_buf struct hoist_buf content;
  cleanup_json json_t *mine = NULL;
  cleanup_free char *mine_bytes = NULL;
  char *const raw_argv[] = { "skopeo", "inspect", "--raw", ref, NULL };
  struct builder_store_image *imgs = NULL;
  size_t n = 0;
  struct layer l;

  need_tool ("skopeo", "skopeo");
  need_tool ("umoci", "umoci");
  make_layer (state, s, &l);
  make_image (s, &l, "v1", &m);

  check_skopeo_image (ref, m.digest, &l);
  /* skopeo hands back the manifest bytes hoist stored, canonical JSON. */
  hoist_buf_init (&raw, 1024 * 1024);
  assert_int_equal (run (raw_argv, &raw), 0);
  assert_int_equal (builder_store_read_json (s, m.digest, 0, &mine, &err), 0);
  mine_bytes = builder_json_canonical (mine, NULL);
  assert_string_equal (raw.data, mine_bytes);

  assert_int_equal (run (umoci, NULL), 0);
  read_file (hello, &content);
  assert_string_equal (content.data, HELLO);
  hoist_buf_release (&content);
  read_file (greeting, &content);
  assert_string_equal (content.data, "hi\n");

  assert_int_equal (validate ("layout", dir), 0);

  assert_int_equal (builder_store_list (s, &imgs, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (imgs[0].tag, "v1");
  assert_string_equal (imgs[0].created, CREATED);
  assert_string_equal (imgs[0].desc.digest, m.digest);
  builder_store_images_free (imgs, n);
}

/* The entries of the tar at PATH, "name mtime uid gid mode" per line. */
static void
list_archive (const char *path, struct hoist_buf *out)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  cleanup_error struct hoist_error *err = NULL;

  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_filename (a, path, 10240), ARCHIVE_OK);
  hoist_buf_init (out, 1024 * 1024);
  while (archive_read_next_header (a, &e) == ARCHIVE_OK)
    assert_int_equal (hoist_buf_addf (out, &err, "%s %lld %lld %lld %o\n", archive_entry_pathname (e),
                                      (long long) archive_entry_mtime (e), (long long) archive_entry_uid (e),
                                      (long long) archive_entry_gid (e), (unsigned) archive_entry_perm (e)),
                      0);
  archive_read_free (a);
}

static void
test_export (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *dest = path_in (state, "out/copy");
  cleanup_free char *tar1 = path_in (state, "image.tar");
  cleanup_free char *tar2 = path_in (state, "image2.tar");
  cleanup_free char *dest_ref = hoist_xasprintf ("oci:%s:copied", dest);
  cleanup_free char *tar_ref = hoist_xasprintf ("oci-archive:%s:v1", tar1);
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  cleanup_buf struct hoist_buf a;
  cleanup_buf struct hoist_buf b;
  cleanup_buf struct hoist_buf entries;
  cleanup_free char *expect = NULL;
  char cfg_digest[HOIST_DIGEST_STR_SIZE];
  struct layer l;
  cleanup_json json_t *mj = NULL;

  need_tool ("skopeo", "skopeo");
  make_layer (state, s, &l);
  make_image (s, &l, "v1", &m);

  assert_int_equal (builder_store_export_layout (s, "v1", dest, "copied", &err), 0);
  check_skopeo_image (dest_ref, m.digest, &l);
  assert_int_equal (validate ("layout", dest), 0);

  assert_int_equal (builder_store_export_archive (s, "v1", tar1, NULL, &err), 0);
  check_skopeo_image (tar_ref, m.digest, &l);
  /* Reproducible: a second export is the same bytes. */
  assert_int_equal (builder_store_export_archive (s, "v1", tar2, NULL, &err), 0);
  read_file (tar1, &a);
  read_file (tar2, &b);
  assert_int_equal (a.len, b.len);
  assert_memory_equal (a.data, b.data, a.len);

  /* Fixed order and metadata: layout files, then blobs by digest. */
  assert_int_equal (builder_store_read_json (s, m.digest, 0, &mj, &err), 0);
  memcpy (cfg_digest, json_string_value (json_object_get (json_object_get (mj, "config"), "digest")),
          sizeof (cfg_digest));
  {
    const char *d[3] = { m.digest, cfg_digest, l.digest };
    for (int i = 0; i < 3; i++) /* sort three digests */
      for (int j = i + 1; j < 3; j++)
        if (strcmp (d[j], d[i]) < 0)
          {
            const char *t = d[i];
            d[i] = d[j];
            d[j] = t;
          }
    expect = hoist_xasprintf ("oci-layout 0 0 0 644\nindex.json 0 0 0 644\nblobs/ 0 0 0 755\n"
                              "blobs/sha256/ 0 0 0 755\nblobs/sha256/%s 0 0 0 644\nblobs/sha256/%s 0 0 0 644\n"
                              "blobs/sha256/%s 0 0 0 644\n",
                              d[0] + 7, d[1] + 7, d[2] + 7);
  }
  list_archive (tar1, &entries);
  assert_string_equal (entries.data, expect);
}

/* The three ways a blob leaves the store: a hard link (this handle wrote
 * it, same file system), a copy in the kernel (it wrote it, another file
 * system: /dev/shm is a tmpfs), a read that hashes it (another handle).
 * Each export is the same image. */
static void
test_export_paths (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *linked = path_in (state, "linked");
  cleanup_free char *streamed = path_in (state, "streamed");
  cleanup_free char *src_blob = NULL, *dst_blob = NULL;
  char other[] = "/dev/shm/hoist-test-export-XXXXXX";
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  const char *dests[3];
  struct stat a, b;
  struct layer l;

  make_layer (state, s, &l);
  make_image (s, &l, "v1", &m);
  assert_non_null (mkdtemp (other));
  dests[0] = linked;
  dests[1] = other;
  dests[2] = streamed;

  assert_int_equal (builder_store_export_layout (s, "v1", linked, NULL, &err), 0);
  src_blob = hoist_xasprintf ("%s/blobs/sha256/%s", dir, l.digest + 7);
  dst_blob = hoist_xasprintf ("%s/blobs/sha256/%s", linked, l.digest + 7);
  assert_int_equal (stat (src_blob, &a), 0);
  assert_int_equal (stat (dst_blob, &b), 0);
  assert_true (a.st_ino == b.st_ino && a.st_dev == b.st_dev);

  assert_int_equal (builder_store_export_layout (s, "v1", other, NULL, &err), 0);
  builder_store_free (s);
  s = open_store (dir);
  assert_int_equal (builder_store_export_layout (s, "v1", streamed, NULL, &err), 0);
  free (dst_blob);
  dst_blob = hoist_xasprintf ("%s/blobs/sha256/%s", streamed, l.digest + 7);
  assert_int_equal (stat (dst_blob, &b), 0);
  assert_true (a.st_ino != b.st_ino);

  for (size_t i = 0; i < 3; i++)
    {
      cleanup_store struct builder_store *d = open_store (dests[i]);
      cleanup_desc struct builder_descriptor r;
      cleanup_buf struct hoist_buf got;
      cleanup_free char *path = hoist_xasprintf ("%s/blobs/sha256/%s", dests[i], l.digest + 7);
      char digest[HOIST_DIGEST_STR_SIZE];

      assert_int_equal (builder_store_resolve (d, "v1", &r, &err), 0);
      assert_string_equal (r.digest, m.digest);
      read_file (path, &got);
      assert_int_equal (hoist_sha256_digest (got.data, got.len, digest, &err), 0);
      assert_string_equal (digest, l.digest);
    }
  nftw (other, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
test_export_corrupt_refused (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *dest = path_in (state, "copy");
  cleanup_free char *tar = path_in (state, "image.tar");
  cleanup_free char *layer_path = NULL;
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_store struct builder_store *d = NULL;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  cleanup_desc struct builder_descriptor r;
  struct layer l;
  int fd;

  make_layer (state, s, &l);
  make_image (s, &l, "v1", &m);
  layer_path = hoist_xasprintf ("%s/blobs/sha256/%s", dir, l.digest + 7);
  fd = open (layer_path, O_WRONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (pwrite (fd, "XX", 2, 20), 2);
  close (fd);
  /* A handle that did not write the blobs itself hashes them on export. */
  builder_store_free (s);
  s = open_store (dir);

  assert_int_equal (builder_store_export_layout (s, "v1", dest, NULL, &err), -EBADMSG);
  assert_non_null (strstr (err->msg, "is corrupt: its content hashes to"));
  d = open_store (dest);
  assert_int_equal (builder_store_resolve (d, "v1", &r, &err), -ENOENT);
  assert_false (builder_store_has_blob (d, l.digest));
  assert_false (builder_store_has_blob (d, m.digest));
  assert_int_equal (builder_store_export_archive (s, "v1", tar, NULL, &err), -EBADMSG);
  assert_int_equal (access (tar, F_OK), -1);
}

static void
test_index_interop (void **state)
{
  cleanup_free char *dir = path_in (state, "layout");
  cleanup_free char *dest = path_in (state, "copy");
  cleanup_free char *tar = path_in (state, "multi.tar");
  cleanup_free char *ref = hoist_xasprintf ("oci:%s:multi", dir);
  cleanup_free char *tar_ref = hoist_xasprintf ("oci-archive:%s:multi", tar);
  cleanup_store struct builder_store *s = open_store (dir);
  cleanup_error struct hoist_error *err = NULL;
  cleanup_desc struct builder_descriptor m;
  cleanup_desc struct builder_descriptor idesc;
  struct builder_index *idx = builder_index_new ();
  struct builder_index *back = NULL;
  struct builder_descriptor entry;
  struct builder_store_image *imgs = NULL;
  size_t n = 0;
  cleanup_json json_t *ij = NULL;
  cleanup_json json_t *bj = NULL;
  cleanup_json json_t *info = NULL;
  struct layer l;

  need_tool ("skopeo", "skopeo");
  make_layer (state, s, &l);
  make_image (s, &l, "v1", &m);
  builder_descriptor_copy (&entry, &m);
  builder_map_remove (&entry.annotations, BUILDER_ANNOTATION_REF_NAME);
  entry.platform = hoist_xcalloc (1, sizeof (*entry.platform));
  entry.platform->os = hoist_xstrdup ("linux");
  entry.platform->architecture = hoist_xstrdup (host_arch ());
  builder_index_add (idx, &entry);
  builder_descriptor_release (&entry);
  builder_map_set (&idx->annotations, BUILDER_ANNOTATION_CREATED, CREATED);
  ij = builder_index_to_json (idx);
  assert_int_equal (builder_store_put_json (s, ij, BUILDER_MT_OCI_INDEX, &idesc, &err), 0);
  assert_int_equal (builder_store_tag (s, "multi", &idesc, &err), 0);

  /* Round trip through the parser. */
  assert_int_equal (builder_index_from_json (ij, &back, &err), 0);
  assert_int_equal (back->n_manifests, 1);
  assert_string_equal (back->manifests[0].platform->architecture, host_arch ());
  bj = builder_index_to_json (back);
  assert_true (json_equal (ij, bj));

  info = skopeo_inspect (ref, NULL);
  assert_string_equal (json_string_value (json_array_get (json_object_get (info, "Layers"), 0)), l.digest);
  assert_int_equal (validate ("layout", dir), 0);

  assert_int_equal (builder_store_export_layout (s, "multi", dest, NULL, &err), 0);
  assert_int_equal (validate ("layout", dest), 0);
  assert_int_equal (builder_store_export_archive (s, "multi", tar, NULL, &err), 0);
  json_decref (info);
  info = skopeo_inspect (tar_ref, NULL);
  assert_string_equal (json_string_value (json_array_get (json_object_get (info, "Layers"), 0)), l.digest);

  assert_int_equal (builder_store_list (s, &imgs, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (imgs[0].tag, "multi");
  assert_string_equal (imgs[0].created, CREATED);
  builder_store_images_free (imgs, n);
  builder_index_free (idx);
  builder_index_free (back);
}

/* ---- Image config ---------------------------------------------------------------- */

static char *
canonical_config (const struct builder_image_config *cfg)
{
  cleanup_json json_t *j = builder_image_config_to_json (cfg);

  return builder_json_canonical (j, NULL);
}

static void
test_config_canonical (void **state)
{
  struct builder_image_config *cfg = builder_image_config_new ("linux", "amd64");
  cleanup_free char *a = canonical_config (cfg);
  cleanup_free char *b = canonical_config (cfg);
  cleanup_error struct hoist_error *err = NULL;
  char digest[HOIST_DIGEST_STR_SIZE];

  assert_string_equal (a, "{\"architecture\":\"amd64\",\"config\":{},\"os\":\"linux\","
                          "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
  assert_string_equal (a, b);
  assert_int_equal (hoist_sha256_digest (a, strlen (a), digest, &err), 0);
  assert_string_equal (digest, "sha256:067c4dd72da4d166811c210f3d96a24e0f1c7ed7f02f905f6f78e03d500f7c59");
  builder_image_config_free (cfg);
}

static void
test_time (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  char out[BUILDER_TIME_STR_SIZE];

  assert_int_equal (builder_format_time (0, out, &err), 0);
  assert_string_equal (out, "1970-01-01T00:00:00Z");
  assert_int_equal (builder_format_time (1714564800, out, &err), 0);
  assert_string_equal (out, CREATED);
  assert_int_equal (builder_format_time (253402300799LL, out, &err), 0);
  assert_string_equal (out, "9999-12-31T23:59:59Z");
  assert_int_equal (builder_format_time (253402300800LL, out, &err), -EOVERFLOW);
  assert_int_equal (builder_format_time (-1, out, &err), -EOVERFLOW);
  assert_true (builder_time_valid (CREATED));
  assert_true (builder_time_valid ("2023-10-02T17:55:04.143614936+02:00"));
  assert_true (builder_time_valid ("2016-12-31t23:59:60z"));
  assert_false (builder_time_valid ("2023-10-02 17:55:04Z"));
  assert_false (builder_time_valid ("2023-10-02T17:55:04"));
  assert_false (builder_time_valid ("2023-10-02T17:55:04.Z"));
  assert_false (builder_time_valid ("2023-10-02T24:00:00Z"));
  assert_false (builder_time_valid ("2023-10-02T17:55:04+0200"));
  assert_false (builder_time_valid ("2023-10-02T17:55:04Z "));
}

static void
test_config_round_trip (void **state)
{
  cleanup_free char *file = path_in (state, "config.json");
  cleanup_error struct hoist_error *err = NULL;
  struct layer l = { .diff_id = "sha256:3333333333333333333333333333333333333333333333333333333333333333" };
  struct builder_image_config *cfg = make_config (&l);
  struct builder_image_config *back = NULL;
  char *const shell[] = { "/bin/bash", "-c", NULL };
  char *const test[] = { "CMD-SHELL", "curl -f http://localhost/ || exit 1", NULL };
  char *const onbuild[] = { "RUN echo child", NULL };
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;
  cleanup_json json_t *j = NULL;

  builder_strv_replace (&cfg->config.shell, shell);
  builder_strv_replace (&cfg->config.on_build, onbuild);
  builder_image_config_add_volume (cfg, "/var/lib/data");
  builder_image_config_add_volume (cfg, "/cache");
  builder_image_config_add_volume (cfg, "/cache");
  builder_image_config_add_port (cfg, "53/udp");
  cfg->config.user = hoist_xstrdup ("1000:1000");
  cfg->config.stop_signal = hoist_xstrdup ("SIGTERM");
  cfg->config.healthcheck = hoist_xcalloc (1, sizeof (*cfg->config.healthcheck));
  builder_strv_replace (&cfg->config.healthcheck->test, test);
  cfg->config.healthcheck->interval = 30000000000LL;
  cfg->config.healthcheck->start_interval = 5000000000LL;
  cfg->config.healthcheck->retries = 3;
  cfg->author = hoist_xstrdup ("hoist \xff test"); /* not UTF-8: U+FFFD written */
  cfg->variant = hoist_xstrdup ("v8");

  a = canonical_config (cfg);
  assert_non_null (strstr (a, "\"Volumes\":{\"/cache\":{},\"/var/lib/data\":{}}"));
  assert_non_null (strstr (a, "\"ExposedPorts\":{\"53/udp\":{},\"8080/tcp\":{}}"));
  assert_non_null (strstr (a, "\"Healthcheck\":{\"Interval\":30000000000,\"Retries\":3,\"StartInterval\":5000000000,"
                              "\"Test\":[\"CMD-SHELL\",\"curl -f http://localhost/ || exit 1\"]}"));
  assert_non_null (strstr (a, "\"author\":\"hoist \xef\xbf\xbd test\""));
  assert_non_null (strstr (a, "\"history\":[{\"created\":\"" CREATED "\",\"created_by\":\"COPY hello.txt /\"},"));
  assert_non_null (strstr (a, "\"empty_layer\":true}]"));

  j = json_loads (a, 0, NULL);
  assert_int_equal (builder_image_config_from_json (j, &back, &err), 0);
  b = canonical_config (back);
  assert_string_equal (a, b);
  assert_int_equal (back->config.healthcheck->retries, 3);
  assert_int_equal (back->n_history, 2);
  assert_true (back->history[1].empty_layer);

  write_file (file, a);
  assert_int_equal (validate ("config", file), 0);
  builder_image_config_free (cfg);
  builder_image_config_free (back);
}

static void
test_config_env (void **state)
{
  struct builder_image_config *cfg = builder_image_config_new ("linux", "arm64");

  builder_image_config_set_env (cfg, "PATH", "/bin");
  builder_image_config_set_env (cfg, "A", "1");
  builder_image_config_set_env (cfg, "PATHX", "2");
  builder_image_config_set_env (cfg, "PATH", "/usr/bin:/bin");
  builder_image_config_set_env (cfg, "EMPTY", "");
  assert_int_equal (hoist_strv_len (cfg->config.env), 4);
  assert_string_equal (cfg->config.env[0], "PATH=/usr/bin:/bin");
  assert_string_equal (cfg->config.env[1], "A=1");
  assert_string_equal (cfg->config.env[2], "PATHX=2");
  assert_string_equal (cfg->config.env[3], "EMPTY=");
  assert_string_equal (builder_image_config_get_env (cfg, "PATH"), "/usr/bin:/bin");
  assert_string_equal (builder_image_config_get_env (cfg, "EMPTY"), "");
  assert_null (builder_image_config_get_env (cfg, "PAT"));
  builder_image_config_free (cfg);
}

struct bad_config
{
  const char *json;
  const char *msg;
};

#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"
#define BASE "\"architecture\":\"amd64\",\"os\":\"linux\"," ROOTFS

static const struct bad_config bad_configs[] = {
  { "[]", "image config: must be a JSON object" },
  { "{\"os\":\"linux\"," ROOTFS "}", "image config: 'architecture' is missing" },
  { "{\"architecture\":5,\"os\":\"linux\"," ROOTFS "}", "image config: 'architecture' must be a string" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\"}", "image config: 'rootfs' is missing" },
  { "{" BASE ",\"config\":\"x\"}", "image config: 'config' must be an object" },
  { "{" BASE ",\"config\":{\"Env\":\"PATH=/bin\"}}", "image config: 'config.Env' must be an array of strings" },
  { "{" BASE ",\"config\":{\"Env\":[1]}}", "image config: 'config.Env' must be an array of strings" },
  { "{" BASE ",\"config\":{\"Env\":[\"NOEQUALS\"]}}", "image config: 'config.Env[0]' is not of the form KEY=VALUE" },
  { "{" BASE ",\"config\":{\"Cmd\":{}}}", "image config: 'config.Cmd' must be an array of strings" },
  { "{" BASE ",\"config\":{\"User\":0}}", "image config: 'config.User' must be a string" },
  { "{" BASE ",\"config\":{\"Labels\":{\"a\":1}}}", "image config: 'config.Labels' must be an object of strings" },
  { "{" BASE ",\"config\":{\"ExposedPorts\":{\"80/tcp\":\"x\"}}}",
    "image config: 'config.ExposedPorts' must be an object of objects" },
  { "{" BASE ",\"config\":{\"Volumes\":[\"/data\"]}}", "image config: 'config.Volumes' must be an object of objects" },
  { "{" BASE ",\"config\":{\"Healthcheck\":{\"Interval\":-1}}}",
    "image config: 'config.Healthcheck.Interval' must be a non-negative integer" },
  { "{" BASE ",\"config\":{\"Healthcheck\":{\"Retries\":1.5}}}",
    "image config: 'config.Healthcheck.Retries' must be a non-negative integer" },
  { "{" BASE ",\"config\":{\"Healthcheck\":{\"Retries\":4294967296}}}",
    "image config: 'config.Healthcheck.Retries' must be a non-negative integer" },
  { "{" BASE ",\"config\":{\"ArgsEscaped\":\"yes\"}}", "image config: 'config.ArgsEscaped' must be a boolean" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"overlay\",\"diff_ids\":[]}}",
    "image config: 'rootfs.type' must be \"layers\"" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:../../x\"]}}",
    "image config: 'rootfs.diff_ids[0]' must be a sha256 digest" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":{}}}",
    "image config: 'rootfs.diff_ids' must be an array of digests" },
  { "{" BASE ",\"created\":\"yesterday\"}", "image config: 'created' is not an RFC 3339 date" },
  { "{" BASE ",\"history\":{}}", "image config: 'history' must be an array of objects" },
  { "{" BASE ",\"history\":[{},5]}", "image config: 'history[1]' must be an object" },
  { "{" BASE ",\"history\":[{},{\"created_by\":7}]}", "image config: 'history[1].created_by' must be a string" },
  { "{" BASE ",\"history\":[{\"empty_layer\":1}]}", "image config: 'history[0].empty_layer' must be a boolean" },
  { "{" BASE ",\"history\":[{\"created\":\"2024-13-01T00:00:00Z\"}]}",
    "image config: 'history[0].created' is not an RFC 3339 date" },
};

static void
expect_config_error (json_t *j, const char *msg)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_image_config *cfg = NULL;

  if (builder_image_config_from_json (j, &cfg, &err) == 0)
    fail_msg ("accepted, expected: %s", msg);
  assert_null (cfg);
  assert_string_equal (err->msg, msg);
}

static void
test_config_hostile (void **state)
{
  for (size_t i = 0; i < sizeof (bad_configs) / sizeof (bad_configs[0]); i++)
    {
      json_error_t jerr;
      json_t *j = json_loads (bad_configs[i].json, 0, &jerr);
      if (j == NULL)
        fail_msg ("case %zu: %s", i, jerr.text);
      expect_config_error (j, bad_configs[i].msg);
      json_decref (j);
    }
}

static void
test_config_huge (void **state)
{
  cleanup_json json_t *j = json_loads ("{" BASE ",\"config\":{}}", 0, NULL);
  json_t *env = json_array ();
  json_t *ids = json_array ();
  json_t *labels = json_object ();
  json_t *history = json_array ();

  for (unsigned i = 0; i <= BUILDER_CONFIG_ITEMS_MAX; i++)
    {
      char k[32];
      snprintf (k, sizeof (k), "K%u=v", i);
      json_array_append_new (env, json_string (k));
      json_object_set_new (labels, k, json_string ("v"));
      json_array_append_new (history, json_object ());
      if (i <= BUILDER_LAYERS_MAX)
        json_array_append_new (ids,
                               json_string ("sha256:4444444444444444444444444444444444444444444444444444444444444444"));
    }
  json_object_set_new (json_object_get (j, "config"), "Env", env);
  expect_config_error (j, "image config: 'config.Env' has more than 10000 entries");
  json_object_del (json_object_get (j, "config"), "Env");
  json_object_set_new (json_object_get (j, "config"), "Labels", labels);
  expect_config_error (j, "image config: 'config.Labels' has more than 10000 entries");
  json_object_del (json_object_get (j, "config"), "Labels");
  json_object_set_new (json_object_get (j, "rootfs"), "diff_ids", ids);
  expect_config_error (j, "image config: 'rootfs.diff_ids' has more than 1000 entries");
  json_object_set_new (json_object_get (j, "rootfs"), "diff_ids", json_array ());
  json_object_set_new (j, "history", history);
  expect_config_error (j, "image config: 'history' has more than 10000 entries");
}

static void
test_config_docker_nulls (void **state)
{
  /* What Docker writes for a base image: nulls for unset lists. */
  static const char text[]
      = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2023-10-02T17:55:04.143614936+02:00\","
        "\"config\":{\"Hostname\":\"\",\"User\":\"\",\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"Entrypoint\":null,"
        "\"Volumes\":null,\"OnBuild\":null,\"Labels\":null,\"Image\":\"sha256:abc\"},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
        "\"sha256:5555555555555555555555555555555555555555555555555555555555555555\"]},"
        "\"history\":[{\"created\":\"2023-10-02T17:55:04Z\",\"created_by\":\"ADD file:x in /\"}]}";
  cleanup_json json_t *j = json_loads (text, 0, NULL);
  cleanup_error struct hoist_error *err = NULL;
  struct builder_image_config *cfg = NULL;
  cleanup_free char *out = NULL;

  assert_int_equal (builder_image_config_from_json (j, &cfg, &err), 0);
  assert_null (cfg->config.entrypoint);
  assert_string_equal (cfg->config.cmd[0], "sh");
  assert_string_equal (cfg->config.user, "");
  assert_int_equal (hoist_strv_len (cfg->diff_ids), 1);
  out = canonical_config (cfg);
  /* Unknown members (Hostname, Image) are not carried on. */
  assert_null (strstr (out, "Hostname"));
  assert_null (strstr (out, "Image"));
  builder_image_config_free (cfg);
}

/* ---- Manifest and index parsing ------------------------------------------------- */

#define DIG_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CFG_DESC "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DIG_A "\",\"size\":2}"
#define LAYER_DESC "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DIG_A "\",\"size\":3}"

static const struct bad_config bad_manifests[] = {
  { "{\"schemaVersion\":1,\"config\":" CFG_DESC ",\"layers\":[]}", "image manifest: 'schemaVersion' must be 2" },
  { "{\"schemaVersion\":2,\"manifests\":[]}", "image manifest: is an image index" },
  { "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"config\":" CFG_DESC
    ",\"layers\":[]}",
    "image manifest: is an image index" },
  { "{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"config\":" CFG_DESC ",\"layers\":[]}",
    "image manifest: unexpected mediaType 'text/plain'" },
  { "{\"schemaVersion\":2,\"layers\":[]}", "image manifest: 'config' is missing" },
  { "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":{}}",
    "image manifest: 'layers' must be an array of descriptors" },
  { "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[" LAYER_DESC
    ",{\"mediaType\":\"a/b\",\"digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
    "\"size\":1}]}",
    "image manifest: 'layers[1].digest' must be a sha256 digest" },
  { "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"" DIG_A
    "\",\"size\":-5}]}",
    "image manifest: 'layers[0].size' must be a non-negative integer" },
  { "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[{\"mediaType\":\"a b\",\"digest\":\"" DIG_A
    "\",\"size\":5}]}",
    "image manifest: 'layers[0].mediaType' is not a media type" },
  { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DIG_A "\",\"size\":2},\"layers\":[]}",
    "image manifest: 'config.mediaType' is missing" },
  { "{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[],\"annotations\":{\"a\":[]}}",
    "image manifest: 'annotations' must be an object of strings" },
};

static void
test_manifest_parse (void **state)
{
  static const char docker[]
      = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"" DIG_A
        "\",\"size\":7},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
        "\"digest\":\"" DIG_A "\",\"size\":9}]}";
  cleanup_error struct hoist_error *err = NULL;
  struct builder_manifest *m = NULL;
  cleanup_json json_t *j = json_loads (docker, 0, NULL);
  cleanup_json json_t *back = NULL;

  assert_int_equal (builder_manifest_from_json (j, &m, &err), 0);
  assert_string_equal (m->media_type, BUILDER_MT_DOCKER_MANIFEST);
  assert_string_equal (m->config.media_type, BUILDER_MT_DOCKER_CONFIG);
  assert_int_equal (m->n_layers, 1);
  assert_int_equal (m->layers[0].size, 9);
  back = builder_manifest_to_json (m);
  assert_true (json_equal (j, back));
  builder_manifest_free (m);

  for (size_t i = 0; i < sizeof (bad_manifests) / sizeof (bad_manifests[0]); i++)
    {
      json_t *bad = json_loads (bad_manifests[i].json, 0, NULL);
      m = NULL;
      if (bad == NULL)
        fail_msg ("case %zu is not JSON", i);
      if (builder_manifest_from_json (bad, &m, &err) == 0)
        fail_msg ("case %zu accepted", i);
      assert_null (m);
      assert_string_equal (err->msg, bad_manifests[i].msg);
      json_decref (bad);
    }
}

static void
test_index_parse (void **state)
{
  cleanup_error struct hoist_error *err = NULL;
  struct builder_index *idx = NULL;
  cleanup_json json_t *no_os
      = json_loads ("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    "\"digest\":\"" DIG_A "\",\"size\":1,\"platform\":{\"architecture\":\"amd64\"}}]}",
                    0, NULL);
  cleanup_json json_t *manifest = json_loads ("{\"schemaVersion\":2,\"config\":" CFG_DESC ",\"layers\":[]}", 0, NULL);
  cleanup_json json_t *list = json_loads (
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DIG_A
      "\",\"size\":1,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}}]}",
      0, NULL);

  assert_int_equal (builder_index_from_json (no_os, &idx, &err), -EINVAL);
  assert_string_equal (err->msg, "image index: 'manifests[0].platform.os' is missing");
  assert_int_equal (builder_index_from_json (manifest, &idx, &err), -EINVAL);
  assert_string_equal (err->msg, "image index: is an image manifest");
  assert_null (idx);
  assert_int_equal (builder_index_from_json (list, &idx, &err), 0);
  assert_string_equal (idx->media_type, BUILDER_MT_DOCKER_LIST);
  assert_string_equal (idx->manifests[0].platform->variant, "v7");
  builder_index_free (idx);
}

static void
test_validate_catches (void **state)
{
  cleanup_free char *bad = path_in (state, "bad-manifest.json");
  cleanup_free char *good = path_in (state, "good-manifest.json");
  cleanup_free char *cfg = path_in (state, "bad-config.json");

  /* The helper must fail where hoist's own checks would: else the interop
   * tests above prove nothing.  Without the schemas (a clone without
   * ../shared) there is nothing to prove; CI requires them. */
  if (validate ("have-schemas", "") != 0)
    skip ();
  write_file (good, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    "\"config\":" CFG_DESC ",\"layers\":[" LAYER_DESC "]}");
  write_file (bad,
              "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
              "\"config\":" CFG_DESC ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
              "\"digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"size\":1}]}");
  write_file (cfg, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"yesterday\"," ROOTFS "}");
  assert_int_equal (validate ("manifest", good), 0);
  assert_int_equal (validate ("manifest", bad), 1);
  assert_int_equal (validate ("config", cfg), 1);
}

int
main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (test_open_creates_layout),
    T (test_open_refuses_non_layout),
    T (test_blob_digest_refused),
    T (test_blob_ingest),
    T (test_blob_symlink_refused),
    T (test_json_blob_corrupt),
    T (test_json_blob_oversize),
    T (test_tag_replace_keep),
    T (test_tag_valid),
    T (test_tag_concurrent),
    T (test_image_interop),
    T (test_export),
    T (test_export_paths),
    T (test_export_corrupt_refused),
    T (test_index_interop),
    T (test_config_canonical),
    T (test_time),
    T (test_config_round_trip),
    T (test_config_env),
    T (test_config_hostile),
    T (test_config_huge),
    T (test_config_docker_nulls),
    T (test_manifest_parse),
    T (test_index_parse),
    T (test_validate_catches),
  };
#undef T

  return cmocka_run_group_tests (tests, NULL, NULL);
}
