/* test_common.c — errors, buffers, digests and string vectors. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

static void
test_error_set_plain (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_error_set (&err, 0, "bad thing '%s'", "x"), -1);
  assert_non_null (err);
  assert_int_equal (err->status, 0);
  assert_string_equal (err->msg, "bad thing 'x'");
}

static void
test_error_set_errno (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_error_set (&err, ENOENT, "cannot open '%s'", "/a"), -ENOENT);
  assert_int_equal (err->status, ENOENT);
  assert_string_equal (err->msg, "cannot open '/a': No such file or directory");
}

static void
test_error_set_negative_errno (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_error_set (&err, -EACCES, "cannot write"), -EACCES);
  assert_int_equal (err->status, EACCES);
  assert_string_equal (err->msg, "cannot write: Permission denied");
}

static void
test_error_set_replaces (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_error_set (&err, EIO, "first"), -EIO);
  assert_int_equal (hoist_error_set (&err, 0, "second"), -1);
  assert_int_equal (err->status, 0);
  assert_string_equal (err->msg, "second");
}

static void
test_error_null_err (void **state)
{
  assert_int_equal (hoist_error_set (NULL, EPERM, "dropped %d", 1), -EPERM);
  assert_int_equal (hoist_error_set (NULL, 0, "dropped"), -1);
  assert_int_equal (hoist_error_wrap (NULL, "context"), -1);
}

static void
test_error_wrap (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  hoist_error_set (&err, ENOENT, "cannot open '%s'", "f");
  assert_int_equal (hoist_error_wrap (&err, "push '%s'", "ref"), -ENOENT);
  assert_int_equal (err->status, ENOENT);
  assert_string_equal (err->msg, "push 'ref': cannot open 'f': No such file or directory");
  assert_int_equal (hoist_error_wrap (&err, "build"), -ENOENT);
  assert_string_equal (err->msg, "build: push 'ref': cannot open 'f': No such file or directory");
  assert_int_equal (hoist_error_hint (&err, "try %s", "-v"), -ENOENT);
  assert_string_equal (err->msg, "build: push 'ref': cannot open 'f': No such file or directory (hint: try -v)");
  assert_int_equal (hoist_error_hint (NULL, "nothing"), -1);
}

static void
test_error_wrap_unset (void **state)
{
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_error_wrap (&err, "load '%s'", "x"), -1);
  assert_non_null (err);
  assert_int_equal (err->status, 0);
  assert_string_equal (err->msg, "load 'x'");
}

static void
test_error_free_null (void **state)
{
  hoist_error_free (NULL);
}

/* ---------------------------------------------------------------------
 * Buffers
 * ------------------------------------------------------------------- */

static void
test_buf_init (void **state)
{
  cleanup_buf struct hoist_buf b;

  hoist_buf_init (&b, 10);
  assert_non_null (b.data);
  assert_int_equal (b.len, 0);
  assert_int_equal (b.limit, 10);
  assert_int_equal (b.data[0], '\0');
  assert_string_equal (b.data, "");
}

static void
test_buf_add (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_add (&b, "abc", 3, &err), 0);
  assert_int_equal (hoist_buf_addstr (&b, "def", &err), 0);
  assert_int_equal (hoist_buf_addch (&b, 'g', &err), 0);
  assert_int_equal (hoist_buf_add (&b, "zzz", 0, &err), 0);
  assert_null (err);
  assert_int_equal (b.len, 7);
  assert_string_equal (b.data, "abcdefg");
  assert_int_equal (b.data[b.len], '\0');
  assert_true (b.alloc > b.len);
}

static void
test_buf_add_binary (void **state)
{
  cleanup_buf struct hoist_buf b;
  static const char bin[] = { 'a', '\0', 'b', '\0' };

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_add (&b, bin, sizeof bin, NULL), 0);
  assert_int_equal (b.len, 4);
  assert_memory_equal (b.data, bin, 4);
  assert_int_equal (b.data[4], '\0');
}

static void
test_buf_grow_large (void **state)
{
  cleanup_buf struct hoist_buf b;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  for (int i = 0; i < 10000; i++)
    assert_int_equal (hoist_buf_addch (&b, (char) ('a' + i % 26), NULL), 0);
  assert_int_equal (b.len, 10000);
  assert_int_equal (strlen (b.data), 10000);
  assert_int_equal (b.data[9999], 'a' + 9999 % 26);
}

static void
test_buf_limit (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&b, 5);
  assert_int_equal (hoist_buf_addstr (&b, "abc", &err), 0);
  assert_int_equal (hoist_buf_addstr (&b, "def", &err), -E2BIG);
  assert_non_null (err);
  assert_int_equal (err->status, E2BIG);
  assert_string_equal (err->msg, "data exceeds the limit of 5 bytes: Argument list too long");
  /* unchanged */
  assert_int_equal (b.len, 3);
  assert_string_equal (b.data, "abc");
  /* exactly up to the limit is fine */
  assert_int_equal (hoist_buf_addstr (&b, "de", NULL), 0);
  assert_string_equal (b.data, "abcde");
  assert_int_equal (hoist_buf_addch (&b, 'f', NULL), -E2BIG);
  assert_int_equal (b.len, 5);
}

static void
test_buf_limit_zero (void **state)
{
  cleanup_buf struct hoist_buf b;

  hoist_buf_init (&b, 0);
  assert_int_equal (hoist_buf_addch (&b, 'x', NULL), -E2BIG);
  assert_int_equal (b.len, 0);
  assert_string_equal (b.data, "");
}

static void
test_buf_addf (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&b, 16);
  assert_int_equal (hoist_buf_addf (&b, &err, "%s-%d", "n", 42), 0);
  assert_string_equal (b.data, "n-42");
  assert_int_equal (hoist_buf_addf (&b, &err, "%0*d", 13, 7), -E2BIG);
  assert_int_equal (err->status, E2BIG);
  assert_string_equal (b.data, "n-42");
}

static void
test_buf_detach (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_free char *p = NULL;
  cleanup_free char *empty = NULL;
  size_t len = 99;

  hoist_buf_init (&b, 100);
  assert_int_equal (hoist_buf_addstr (&b, "hello", NULL), 0);
  p = hoist_buf_detach (&b, &len);
  assert_string_equal (p, "hello");
  assert_int_equal (len, 5);
  /* re-initialised, same limit */
  assert_int_equal (b.len, 0);
  assert_int_equal (b.limit, 100);
  assert_string_equal (b.data, "");

  empty = hoist_buf_detach (&b, &len);
  assert_non_null (empty);
  assert_string_equal (empty, "");
  assert_int_equal (len, 0);
}

static void
test_buf_reset_release (void **state)
{
  cleanup_buf struct hoist_buf b;

  hoist_buf_init (&b, 50);
  hoist_buf_reset (&b);
  assert_string_equal (b.data, "");
  assert_int_equal (hoist_buf_addstr (&b, "something", NULL), 0);
  hoist_buf_reset (&b);
  assert_int_equal (b.len, 0);
  assert_string_equal (b.data, "");
  assert_int_equal (hoist_buf_addstr (&b, "xy", NULL), 0);
  assert_string_equal (b.data, "xy");
  hoist_buf_release (&b);
  assert_int_equal (b.len, 0);
  assert_int_equal (b.limit, 50);
  assert_string_equal (b.data, "");
}

static char *
write_temp (const char *content, size_t n)
{
  char *path = hoist_xstrdup ("/tmp/hoist-test-XXXXXX");
  int fd = mkstemp (path);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, n), (ssize_t) n);
  close (fd);
  return path;
}

static void
test_buf_read_file (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *path = write_temp ("line one\nline two\n", 18);

  hoist_buf_init (&b, 1024);
  assert_int_equal (hoist_buf_addstr (&b, ">", NULL), 0);
  assert_int_equal (hoist_buf_read_file (&b, path, &err), 0);
  assert_string_equal (b.data, ">line one\nline two\n");
  assert_int_equal (b.len, 19);
  unlink (path);
}

static void
test_buf_read_file_limit (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;
  cleanup_free char *path = write_temp ("0123456789", 10);
  cleanup_free char *want = NULL;

  hoist_buf_init (&b, 9);
  assert_int_equal (hoist_buf_read_file (&b, path, &err), -E2BIG);
  assert_int_equal (err->status, E2BIG);
  want = hoist_xasprintf ("cannot read '%s': data exceeds the limit of 9 bytes: "
                          "Argument list too long",
                          path);
  assert_string_equal (err->msg, want);
  unlink (path);
}

static void
test_buf_read_file_missing (void **state)
{
  cleanup_buf struct hoist_buf b;
  cleanup_error struct hoist_error *err = NULL;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (hoist_buf_read_file (&b, "/nonexistent/x", &err), -ENOENT);
  assert_string_equal (err->msg, "cannot open '/nonexistent/x': No such file or directory");
  assert_int_equal (b.len, 0);
}

/* ---------------------------------------------------------------------
 * Digests
 * ------------------------------------------------------------------- */

#define SHA_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
test_digest_vectors (void **state)
{
  char out[HOIST_DIGEST_STR_SIZE];

  assert_int_equal (hoist_sha256_digest ("", 0, out, NULL), 0);
  assert_string_equal (out, SHA_EMPTY);
  assert_int_equal (hoist_sha256_digest ("abc", 3, out, NULL), 0);
  assert_string_equal (out, SHA_ABC);
}

static void
test_digest_streaming (void **state)
{
  struct hoist_sha256 h;
  char out[HOIST_DIGEST_STR_SIZE];

  assert_int_equal (hoist_sha256_init (&h, NULL), 0);
  hoist_sha256_update (&h, "a", 1);
  hoist_sha256_update (&h, "", 0);
  hoist_sha256_update (&h, "bc", 2);
  hoist_sha256_final (&h, out);
  hoist_sha256_release (&h);
  assert_string_equal (out, SHA_ABC);
  assert_int_equal (strlen (out), HOIST_DIGEST_STR_SIZE - 1);
}

static void
test_digest_valid (void **state)
{
  assert_true (hoist_digest_valid (SHA_EMPTY));
  assert_true (hoist_digest_valid (SHA_ABC));
  /* uppercase hex */
  assert_false (hoist_digest_valid ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  assert_false (hoist_digest_valid ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
  assert_false (hoist_digest_valid ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
  assert_false (hoist_digest_valid ("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false (hoist_digest_valid ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false (hoist_digest_valid ("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false (hoist_digest_valid ("sha256:"));
  assert_false (hoist_digest_valid (""));
}

static void
test_ct_equal (void **state)
{
  assert_true (hoist_ct_equal ("secret", "secret", 6));
  assert_false (hoist_ct_equal ("secret", "secreT", 6));
  assert_false (hoist_ct_equal ("Xecret", "secret", 6));
  assert_true (hoist_ct_equal ("abc", "abd", 2));
  assert_true (hoist_ct_equal ("x", "y", 0));
}

/* ---------------------------------------------------------------------
 * Allocation helpers and string vectors
 * ------------------------------------------------------------------- */

static void
test_xstr (void **state)
{
  cleanup_free char *a = hoist_xstrdup ("hello");
  cleanup_free char *b = hoist_xstrndup ("hello", 3);
  cleanup_free char *c = hoist_xasprintf ("%s=%d", "k", 5);

  assert_string_equal (a, "hello");
  assert_string_equal (b, "hel");
  assert_string_equal (c, "k=5");
}

static void
test_strv (void **state)
{
  cleanup_strv char **v = NULL;
  char *owned = hoist_xstrdup ("three");
  const char *two = "two";

  assert_int_equal (hoist_strv_len (NULL), 0);
  hoist_strv_push (&v, "one");
  assert_int_equal (hoist_strv_len (v), 1);
  assert_null (v[1]);
  hoist_strv_push (&v, two);
  assert_ptr_not_equal (v[1], two); /* copied */
  hoist_strv_push_take (&v, owned);
  assert_ptr_equal (v[2], owned); /* taken */
  assert_int_equal (hoist_strv_len (v), 3);
  assert_string_equal (v[0], "one");
  assert_string_equal (v[1], "two");
  assert_string_equal (v[2], "three");
  assert_null (v[3]);
  hoist_strv_free (NULL);
}

static void
test_steal (void **state)
{
  cleanup_free char *p = hoist_xstrdup ("x");
  cleanup_free char *q = NULL;
  int fd = 7;

  q = steal_pointer (&p);
  assert_null (p);
  assert_string_equal (q, "x");
  assert_int_equal (steal_fd (&fd), 7);
  assert_int_equal (fd, -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_error_set_plain),
    cmocka_unit_test (test_error_set_errno),
    cmocka_unit_test (test_error_set_negative_errno),
    cmocka_unit_test (test_error_set_replaces),
    cmocka_unit_test (test_error_null_err),
    cmocka_unit_test (test_error_wrap),
    cmocka_unit_test (test_error_wrap_unset),
    cmocka_unit_test (test_error_free_null),
    cmocka_unit_test (test_buf_init),
    cmocka_unit_test (test_buf_add),
    cmocka_unit_test (test_buf_add_binary),
    cmocka_unit_test (test_buf_grow_large),
    cmocka_unit_test (test_buf_limit),
    cmocka_unit_test (test_buf_limit_zero),
    cmocka_unit_test (test_buf_addf),
    cmocka_unit_test (test_buf_detach),
    cmocka_unit_test (test_buf_reset_release),
    cmocka_unit_test (test_buf_read_file),
    cmocka_unit_test (test_buf_read_file_limit),
    cmocka_unit_test (test_buf_read_file_missing),
    cmocka_unit_test (test_digest_vectors),
    cmocka_unit_test (test_digest_streaming),
    cmocka_unit_test (test_digest_valid),
    cmocka_unit_test (test_ct_equal),
    cmocka_unit_test (test_xstr),
    cmocka_unit_test (test_strv),
    cmocka_unit_test (test_steal),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
