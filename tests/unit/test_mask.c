/* test_mask.c — the streaming secret masker, and the logger that uses it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* ---------------------------------------------------------------------
 * Masker harness: the sink collects output into a buffer
 * ------------------------------------------------------------------- */

struct sink_state
{
  struct hoist_buf out;
  int calls;
  int fail_with; /* when not 0, the sink returns it */
};

static int
collect_sink (void *ctx, const char *p, size_t n)
{
  struct sink_state *s = ctx;

  s->calls++;
  if (s->fail_with != 0)
    return s->fail_with;
  assert_true (n > 0);
  return hoist_buf_add (&s->out, p, n, NULL);
}

static struct hoist_masker *
masker_with (struct sink_state *s, const char *const *secrets)
{
  struct hoist_masker *m;

  memset (s, 0, sizeof (*s));
  hoist_buf_init (&s->out, HOIST_BUF_NO_LIMIT);
  m = hoist_masker_new (collect_sink, s);
  for (size_t i = 0; secrets[i] != NULL; i++)
    assert_int_equal (hoist_masker_add_secret (m, secrets[i], NULL), 0);
  return m;
}

/* Feed INPUT in pieces cut at CUTS (ascending offsets, NCUTS of them),
 * flush, and return the masked output (caller frees). */
static char *
mask_pieces (const char *const *secrets, const char *input, const size_t *cuts, size_t ncuts)
{
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);
  size_t len = strlen (input);
  size_t from = 0;

  for (size_t i = 0; i <= ncuts; i++)
    {
      size_t to = i < ncuts ? cuts[i] : len;
      assert_int_equal (hoist_masker_write (m, input + from, to - from), 0);
      from = to;
    }
  assert_int_equal (hoist_masker_flush (m), 0);
  hoist_masker_free (m);
  return hoist_buf_detach (&s.out, NULL);
}

static char *
mask_once (const char *const *secrets, const char *input)
{
  return mask_pieces (secrets, input, NULL, 0);
}

/* ---------------------------------------------------------------------
 * Masker
 * ------------------------------------------------------------------- */

static void
test_mask_single_write (void **state)
{
  const char *const secrets[] = { "hunter2!", NULL };
  cleanup_free char *out = mask_once (secrets, "login: user pass=hunter2! ok");

  assert_string_equal (out, "login: user pass=*** ok");
}

static void
test_mask_no_secret_passthrough (void **state)
{
  const char *const none[] = { NULL };
  const char *const secrets[] = { "hunter2!", NULL };
  cleanup_free char *a = mask_once (none, "nothing hunter2! to hide");
  cleanup_free char *b = mask_once (secrets, "nothing to hide");
  cleanup_free char *c = mask_once (secrets, "");

  assert_string_equal (a, "nothing hunter2! to hide");
  assert_string_equal (b, "nothing to hide");
  assert_string_equal (c, "");
}

/* Output is emitted at once when no suffix could start a secret. */
static void
test_mask_no_false_holdback (void **state)
{
  const char *const secrets[] = { "SECRET", NULL };
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);

  assert_int_equal (hoist_masker_write (m, "a SECRET b", 10), 0);
  assert_string_equal (s.out.data, "a *** b");
  assert_int_equal (hoist_masker_write (m, " SECRET", 7), 0);
  assert_string_equal (s.out.data, "a *** b ***");
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

static void
test_mask_split_two (void **state)
{
  const char *const secrets[] = { "ghp_TOKEN1234", NULL };
  const char *input = "head ghp_TOKEN1234 tail";
  size_t len = strlen (input);

  for (size_t i = 0; i <= len; i++)
    {
      cleanup_free char *out = mask_pieces (secrets, input, &i, 1);
      assert_string_equal (out, "head *** tail");
    }
}

static void
test_mask_split_three (void **state)
{
  const char *const secrets[] = { "ghp_TOKEN1234", NULL };
  const char *input = "x ghp_TOKEN1234 y";
  size_t len = strlen (input);

  for (size_t i = 0; i <= len; i++)
    for (size_t j = i; j <= len; j++)
      {
        size_t cuts[2] = { i, j };
        cleanup_free char *out = mask_pieces (secrets, input, cuts, 2);
        assert_string_equal (out, "x *** y");
      }
}

static void
test_mask_byte_by_byte (void **state)
{
  const char *const secrets[] = { "alpha-secret", "beta-secret", "alpha-secret-long", NULL };
  const char *input = "[alpha-secret][beta-secret][alpha-secret-long][alpha-secre][beta-secret";
  size_t len = strlen (input);
  size_t cuts[256];
  cleanup_free char *out = NULL;

  assert_true (len < 256);
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  out = mask_pieces (secrets, input, cuts, len - 1);
  assert_string_equal (out, "[***][***][***][alpha-secre][***");
}

static void
test_mask_overlapping_longest (void **state)
{
  const char *const secrets[] = { "abcd", "abcdefgh", NULL };
  const char *const reversed[] = { "abcdefgh", "abcd", NULL };
  cleanup_free char *a = mask_once (secrets, "<abcdefgh>");
  cleanup_free char *b = mask_once (secrets, "<abcdefgX>");
  cleanup_free char *c = mask_once (reversed, "<abcdefgh><abcdefg");
  cleanup_free char *d = mask_once (secrets, "abcdabcdefgh");

  assert_string_equal (a, "<***>");
  assert_string_equal (b, "<***efgX>");
  assert_string_equal (c, "<***><***efg");
  assert_string_equal (d, "******");
}

/* A longer secret that is still incomplete at the end of a write must win
 * over a shorter one that already matches, at every split. */
static void
test_mask_overlapping_split (void **state)
{
  const char *const secrets[] = { "abcd", "abcdefgh", NULL };
  const char *input = "1abcdefgh2";
  size_t len = strlen (input);

  for (size_t i = 0; i <= len; i++)
    {
      cleanup_free char *out = mask_pieces (secrets, input, &i, 1);
      assert_string_equal (out, "1***2");
    }
}

/* Secrets that overlap at different offsets: the leftmost one is masked. */
static void
test_mask_overlapping_offsets (void **state)
{
  const char *const secrets[] = { "defghi", "abcdef", NULL };
  cleanup_free char *out = mask_once (secrets, "abcdefghi");

  assert_string_equal (out, "***ghi");
}

static void
test_mask_repeated (void **state)
{
  const char *const secrets[] = { "SECRET", NULL };
  cleanup_free char *out = mask_once (secrets, "SECRETSECRET SECRET.SECRE.SSECRET");

  assert_string_equal (out, "****** ***.SECRE.S***");
}

static void
test_mask_secret_at_end (void **state)
{
  const char *const secrets[] = { "SECRET", NULL };
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);

  assert_int_equal (hoist_masker_write (m, "token: SECRET", 13), 0);
  assert_string_equal (s.out.data, "token: ***");
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "token: ***");
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

/* A prefix of a secret at the end is held back (at most longest - 1
 * bytes), then emitted by the flush; after the flush nothing is held. */
static void
test_mask_holdback_and_flush (void **state)
{
  const char *const secrets[] = { "SECRET", "SEC-LONG-ONE", NULL };
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);

  assert_int_equal (hoist_masker_write (m, "value SECRE", 11), 0);
  assert_string_equal (s.out.data, "value ");
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "value SECRE");

  /* The flush is a boundary: nothing of the earlier write is left to
   * combine with this one. */
  assert_int_equal (hoist_masker_write (m, "T", 1), 0);
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "value SECRET");

  /* Longest hold-back: 11 bytes of the 12-byte secret. */
  hoist_buf_reset (&s.out);
  assert_int_equal (hoist_masker_write (m, "SEC-LONG-ON", 11), 0);
  assert_int_equal (s.out.len, 0);
  assert_int_equal (hoist_masker_write (m, "X", 1), 0);
  assert_string_equal (s.out.data, "SEC-LONG-ONX");
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "SEC-LONG-ONX");
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

static void
test_mask_flush_masks_complete_short (void **state)
{
  /* At flush, a complete shorter secret is masked even though a longer
   * one could have continued. */
  const char *const secrets[] = { "abcd", "abcdefgh", NULL };
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);

  assert_int_equal (hoist_masker_write (m, "-abcdef", 7), 0);
  assert_string_equal (s.out.data, "-");
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "-***ef");
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

static void
test_mask_short_secret_refused (void **state)
{
  struct sink_state s;
  const char *const none[] = { NULL };
  struct hoist_masker *m = masker_with (&s, none);
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_masker_add_secret (m, "abc", &err), -EINVAL);
  assert_int_equal (err->status, EINVAL);
  assert_string_equal (err->msg, "cannot mask a secret shorter than 4 bytes: Invalid argument");
  assert_int_equal (hoist_masker_add_secret (m, "", NULL), -EINVAL);
  assert_int_equal (hoist_masker_add_secret (m, "abcd", NULL), 0);
  assert_int_equal (hoist_masker_add_secret (m, "abcd", NULL), 0); /* again: fine */
  assert_int_equal (hoist_masker_write (m, "abc abcd", 8), 0);
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_string_equal (s.out.data, "abc ***");
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

/* A secret that straddles the masker's internal slicing of big writes. */
static void
test_mask_large_write (void **state)
{
  const char *const secrets[] = { "BIGSECRET", NULL };
  size_t n = 200000;
  cleanup_free char *in = hoist_xmalloc (n + 1);
  cleanup_free char *out = NULL;
  size_t at[] = { 65531, 131070, n - 9 };

  memset (in, '.', n);
  in[n] = '\0';
  for (size_t i = 0; i < 3; i++)
    memcpy (in + at[i], "BIGSECRET", 9);
  out = mask_once (secrets, in);
  assert_int_equal (strlen (out), n - 3 * 6);
  assert_memory_equal (out + 65531, "***.", 4);
  assert_memory_equal (out + 131070 - 6, "***.", 4);
  assert_string_equal (out + n - 18 - 3, "***");
  assert_null (strstr (out, "SECRET"));
}

static void
test_mask_sink_error (void **state)
{
  const char *const secrets[] = { "SECRET", NULL };
  struct sink_state s;
  struct hoist_masker *m = masker_with (&s, secrets);

  s.fail_with = -EPIPE;
  assert_int_equal (hoist_masker_write (m, "abc SECRET", 10), -EPIPE);
  /* the failed bytes are dropped, not sent twice */
  s.fail_with = 0;
  assert_int_equal (hoist_masker_flush (m), 0);
  assert_int_equal (s.out.len, 0);
  hoist_masker_free (m);
  hoist_buf_release (&s.out);
}

/* ---------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------- */

static int log_pipe[2] = { -1, -1 };

/* Each log test gets a fresh pipe as the sink and default settings. */
static int
log_test_setup (void **state)
{
  if (pipe2 (log_pipe, O_CLOEXEC) < 0)
    return -1;
  if (fcntl (log_pipe[0], F_SETFL, O_NONBLOCK) < 0)
    return -1;
  hoist_log_set_fd (log_pipe[1]);
  hoist_log_set_level (HOIST_LOG_INFO);
  hoist_log_set_timestamps (false);
  return 0;
}

static int
log_test_teardown (void **state)
{
  hoist_log_shutdown ();
  hoist_log_set_fd (STDERR_FILENO);
  hoist_log_set_level (HOIST_LOG_INFO);
  hoist_log_set_timestamps (false);
  close (log_pipe[0]);
  close (log_pipe[1]);
  return 0;
}

/* Everything logged since the last call (caller frees). */
static char *
log_take (void)
{
  struct hoist_buf b;
  char chunk[4096];
  ssize_t n;

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  while ((n = read (log_pipe[0], chunk, sizeof chunk)) > 0)
    assert_int_equal (hoist_buf_add (&b, chunk, (size_t) n, NULL), 0);
  assert_true (n < 0 && errno == EAGAIN);
  return hoist_buf_detach (&b, NULL);
}

static void
test_log_format (void **state)
{
  cleanup_free char *out = NULL;

  hoist_log_set_level (HOIST_LOG_DEBUG);
  hoist_log (HOIST_LOG_ERROR, "cannot open '%s'", "f");
  hoist_log (HOIST_LOG_WARN, "careful");
  hoist_log (HOIST_LOG_INFO, "%d steps", 3);
  hoist_log (HOIST_LOG_DEBUG, "detail");
  out = log_take ();
  assert_string_equal (out, "hoist: error: cannot open 'f'\n"
                            "hoist: warning: careful\n"
                            "hoist: 3 steps\n"
                            "hoist: debug: detail\n");
}

static void
test_log_newlines (void **state)
{
  cleanup_free char *out = NULL;

  hoist_log (HOIST_LOG_INFO, "ends with newline\n");
  hoist_log (HOIST_LOG_INFO, "two\nlines");
  hoist_log (HOIST_LOG_INFO, "%s", "");
  out = log_take ();
  assert_string_equal (out, "hoist: ends with newline\n"
                            "hoist: two\nlines\n"
                            "hoist: \n");
}

static void
test_log_level_filter (void **state)
{
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;

  assert_int_equal (hoist_log_get_level (), HOIST_LOG_INFO);
  hoist_log (HOIST_LOG_DEBUG, "hidden");
  hoist_log (HOIST_LOG_INFO, "shown");
  a = log_take ();
  assert_string_equal (a, "hoist: shown\n");

  hoist_log_set_level (HOIST_LOG_ERROR);
  assert_int_equal (hoist_log_get_level (), HOIST_LOG_ERROR);
  hoist_log (HOIST_LOG_WARN, "hidden");
  hoist_log (HOIST_LOG_INFO, "hidden");
  hoist_log (HOIST_LOG_ERROR, "bad");
  b = log_take ();
  assert_string_equal (b, "hoist: error: bad\n");
}

static void
test_log_masks_secret (void **state)
{
  cleanup_free char *out = NULL;
  cleanup_error struct hoist_error *err = NULL;

  assert_int_equal (hoist_log_add_secret ("s3cr3t-token", &err), 0);
  assert_int_equal (hoist_log_add_secret ("xyz", &err), -EINVAL);
  assert_string_equal (err->msg, "cannot mask a secret shorter than 4 bytes: Invalid argument");
  hoist_log (HOIST_LOG_ERROR, "login with %s failed", "s3cr3t-token");
  hoist_log (HOIST_LOG_INFO, "token=%s", "s3cr3t-token");
  /* a prefix of the secret at the end of a line is not held back */
  hoist_log (HOIST_LOG_INFO, "partial s3cr3t");
  hoist_log (HOIST_LOG_INFO, "-token xyz");
  out = log_take ();
  assert_string_equal (out, "hoist: error: login with *** failed\n"
                            "hoist: token=***\n"
                            "hoist: partial s3cr3t\n"
                            "hoist: -token xyz\n");
}

/* Build progress lines: no prefix, not filtered by level, still masked. */
static void
test_log_print_masked (void **state)
{
  cleanup_free char *out = NULL;

  assert_int_equal (hoist_log_add_secret ("s3cr3t-token", NULL), 0);
  hoist_log_set_level (HOIST_LOG_ERROR);
  hoist_log_print ("#%u [1/2] ADD https://u:%s@example.test/x /x", 4u, "s3cr3t-token");
  hoist_log_print ("#4 DONE 0.1s\n");
  out = log_take ();
  assert_string_equal (out, "#4 [1/2] ADD https://u:***@example.test/x /x\n"
                            "#4 DONE 0.1s\n");
}

/* A secret with a newline in it (a PEM key, say): a line ending in its
 * first part must still come out whole, not wait in the masker. */
static void
test_log_multiline_secret_not_held (void **state)
{
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;

  assert_int_equal (hoist_log_add_secret ("KEY-part\nKEY-rest", NULL), 0);
  hoist_log (HOIST_LOG_INFO, "ends in KEY-part");
  a = log_take ();
  assert_string_equal (a, "hoist: ends in KEY-part\n");
  hoist_log (HOIST_LOG_INFO, "key: KEY-part\nKEY-rest end");
  b = log_take ();
  assert_string_equal (b, "hoist: key: *** end\n");
}

static void
test_log_shutdown_forgets (void **state)
{
  cleanup_free char *out = NULL;

  assert_int_equal (hoist_log_add_secret ("forget-me", NULL), 0);
  hoist_log_shutdown ();
  hoist_log (HOIST_LOG_INFO, "forget-me");
  out = log_take ();
  assert_string_equal (out, "hoist: forget-me\n");
}

static void
test_log_timestamp (void **state)
{
  cleanup_free char *out = NULL;
  regex_t re;
  struct tm tm = { 0 };
  time_t before = time (NULL);
  time_t stamp;

  hoist_log_set_timestamps (true);
  hoist_log (HOIST_LOG_WARN, "ts");
  out = log_take ();
  assert_int_equal (regcomp (&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
                             "hoist: warning: ts\n$",
                             REG_EXTENDED | REG_NOSUB),
                    0);
  assert_int_equal (regexec (&re, out, 0, NULL, 0), 0);
  regfree (&re);
  /* and it is the current UTC time */
  assert_non_null (strptime (out, "%Y-%m-%dT%H:%M:%SZ", &tm));
  stamp = timegm (&tm);
  assert_true (stamp >= before && stamp <= time (NULL));
}

static void
test_log_keeps_errno (void **state)
{
  cleanup_free char *out = NULL;

  errno = ENOSPC;
  hoist_log (HOIST_LOG_INFO, "x");
  assert_int_equal (errno, ENOSPC);
  errno = ENOSPC;
  hoist_log (HOIST_LOG_DEBUG, "filtered");
  assert_int_equal (errno, ENOSPC);
  out = log_take ();
  assert_string_equal (out, "hoist: x\n");
}

#define LOG_THREADS 4
#define LOG_LINES 200

static void *
log_thread (void *arg)
{
  long id = (long) arg;

  for (int i = 0; i < LOG_LINES; i++)
    hoist_log (HOIST_LOG_INFO, "thread %ld line %03d key=thread-secret-%ld", id, i, id);
  return NULL;
}

/* Lines from several threads arrive whole and masked. */
static void
test_log_threads (void **state)
{
  pthread_t t[LOG_THREADS];
  char path[] = "/tmp/hoist-log-XXXXXX";
  int fd = mkstemp (path);
  struct hoist_buf b;
  int seen[LOG_THREADS] = { 0 };
  char *line;
  char *nl;

  assert_true (fd >= 0);
  unlink (path);
  hoist_log_set_fd (fd);
  for (long i = 0; i < LOG_THREADS; i++)
    {
      cleanup_free char *secret = hoist_xasprintf ("thread-secret-%ld", i);
      assert_int_equal (hoist_log_add_secret (secret, NULL), 0);
    }
  for (long i = 0; i < LOG_THREADS; i++)
    assert_int_equal (pthread_create (&t[i], NULL, log_thread, (void *) i), 0);
  for (int i = 0; i < LOG_THREADS; i++)
    assert_int_equal (pthread_join (t[i], NULL), 0);

  hoist_buf_init (&b, HOIST_BUF_NO_LIMIT);
  assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
  assert_int_equal (hoist_buf_read_fd (&b, fd, NULL), 0);
  close (fd);
  for (line = b.data; (nl = strchr (line, '\n')) != NULL; line = nl + 1)
    {
      int id = line[14] - '0';
      cleanup_free char *want = NULL;
      assert_true (id >= 0 && id < LOG_THREADS);
      want = hoist_xasprintf ("hoist: thread %d line %03d key=***", id, seen[id]);
      *nl = '\0';
      assert_string_equal (line, want);
      seen[id]++;
    }
  assert_string_equal (line, "");
  for (int i = 0; i < LOG_THREADS; i++)
    assert_int_equal (seen[i], LOG_LINES);
  hoist_buf_release (&b);
}

#define LOG_TEST(f) cmocka_unit_test_setup_teardown (f, log_test_setup, log_test_teardown)

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mask_single_write),
    cmocka_unit_test (test_mask_no_secret_passthrough),
    cmocka_unit_test (test_mask_no_false_holdback),
    cmocka_unit_test (test_mask_split_two),
    cmocka_unit_test (test_mask_split_three),
    cmocka_unit_test (test_mask_byte_by_byte),
    cmocka_unit_test (test_mask_overlapping_longest),
    cmocka_unit_test (test_mask_overlapping_split),
    cmocka_unit_test (test_mask_overlapping_offsets),
    cmocka_unit_test (test_mask_repeated),
    cmocka_unit_test (test_mask_secret_at_end),
    cmocka_unit_test (test_mask_holdback_and_flush),
    cmocka_unit_test (test_mask_flush_masks_complete_short),
    cmocka_unit_test (test_mask_short_secret_refused),
    cmocka_unit_test (test_mask_large_write),
    cmocka_unit_test (test_mask_sink_error),
    LOG_TEST (test_log_format),
    LOG_TEST (test_log_newlines),
    LOG_TEST (test_log_level_filter),
    LOG_TEST (test_log_masks_secret),
    LOG_TEST (test_log_print_masked),
    LOG_TEST (test_log_multiline_secret_not_held),
    LOG_TEST (test_log_shutdown_forgets),
    LOG_TEST (test_log_timestamp),
    LOG_TEST (test_log_keeps_errno),
    LOG_TEST (test_log_threads),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
