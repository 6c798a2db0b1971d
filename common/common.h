/* common.h — hoist's common library: errors, cleanup, buffers, digests,
 * logging with secret masking, and process spawning.
 *
 * This is the one public header of common/.  Every other module uses it;
 * it uses nothing of hoist's.
 *
 * Conventions (see STYLE.md): functions return 0 on success and a negative
 * value on failure, and on failure fill a `struct hoist_error **err` that the
 * caller owns and frees with hoist_error_free().  Library code never prints
 * and never exits, with two documented exceptions: allocation failure aborts
 * (as git's xmalloc does), and hoist_log() writes to the log sink.
 */
#ifndef HOIST_COMMON_H
#define HOIST_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define HOIST_PRINTF(fmt_idx, arg_idx) __attribute__ ((format (printf, fmt_idx, arg_idx)))
#define HOIST_WUR __attribute__ ((warn_unused_result))

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

struct hoist_error
{
  int status; /* errno value that caused it, or 0 */
  char *msg;  /* never NULL: "problem first, subject quoted" */
};

/* Create *err with a message from FMT.  When ERRNUM is not 0, ": strerror"
 * is appended.  If *err is already set, it is freed first.  Returns the
 * negative of ERRNUM, or -1 when ERRNUM is 0, so callers can write
 * `return hoist_error_set (err, errno, "cannot open '%s'", path);`.
 * ERR may be NULL: the message is then dropped. */
int hoist_error_set (struct hoist_error **err, int errnum, const char *fmt, ...) HOIST_PRINTF (3, 4);

/* Set *err to the message from FMT alone, with no ": strerror" suffix,
 * and STATUS (an errno value) as its status: for refusals whose message
 * already says everything, while callers can still tell them apart by
 * status.  If *err is already set, it is freed first; ERR may be NULL.
 * Returns -STATUS, or -1 when STATUS is not positive. */
int hoist_error_set_status (struct hoist_error **err, int status, const char *fmt, ...) HOIST_PRINTF (3, 4);

/* Prefix the message of *err with context: "CONTEXT: old message".  When
 * *err is NULL (a callee failed without setting it) a message is made of
 * the context alone.  Returns the negative status as hoist_error_set. */
int hoist_error_wrap (struct hoist_error **err, const char *fmt, ...) HOIST_PRINTF (2, 3);

/* Append " (hint: HINT)" to the message of *err (which must be set).
 * Returns the negative status as hoist_error_set. */
int hoist_error_hint (struct hoist_error **err, const char *fmt, ...) HOIST_PRINTF (2, 3);

void hoist_error_free (struct hoist_error *err);

/* ---------------------------------------------------------------------
 * Cleanup attributes and ownership transfer
 * ------------------------------------------------------------------- */

void hoist_freep (void *p);
void hoist_closep (int *fd);
void hoist_fclosep (FILE **f);
void hoist_error_freep (struct hoist_error **err);
void hoist_strv_freep (char ***v);

#define cleanup_free __attribute__ ((cleanup (hoist_freep)))
#define cleanup_close __attribute__ ((cleanup (hoist_closep)))
#define cleanup_fclose __attribute__ ((cleanup (hoist_fclosep)))
#define cleanup_error __attribute__ ((cleanup (hoist_error_freep)))
#define cleanup_strv __attribute__ ((cleanup (hoist_strv_freep)))

/* Take the value out of *PP and leave NULL behind: the caller now owns it. */
#define steal_pointer(pp)                                                                                              \
  __extension__({                                                                                                      \
    __typeof__ (*(pp)) steal_tmp_ = *(pp);                                                                             \
    *(pp) = NULL;                                                                                                      \
    steal_tmp_;                                                                                                        \
  })

/* Take the fd out of *FDP and leave -1 behind. */
static inline int
steal_fd (int *fdp)
{
  int fd = *fdp;
  *fdp = -1;
  return fd;
}

/* ---------------------------------------------------------------------
 * Allocation (aborts on out-of-memory, like git's xmalloc)
 * ------------------------------------------------------------------- */

void *hoist_xmalloc (size_t n);
void *hoist_xcalloc (size_t nmemb, size_t size);
void *hoist_xrealloc (void *p, size_t n);
/* realloc P to hold NMEMB * SIZE bytes, aborting when the product overflows. */
void *hoist_xreallocarray (void *p, size_t nmemb, size_t size);
char *hoist_xstrdup (const char *s);
char *hoist_xstrndup (const char *s, size_t n);
char *hoist_xasprintf (const char *fmt, ...) HOIST_PRINTF (1, 2);

/* NULL-terminated string vectors (argv, envp, word lists). */
size_t hoist_strv_len (char *const *v);
/* Append a copy of S to *V (which may be NULL), keeping it NULL-terminated. */
void hoist_strv_push (char ***v, const char *s);
/* Append S itself (ownership passes to the vector). */
void hoist_strv_push_take (char ***v, char *s);
void hoist_strv_free (char **v);

/* ---------------------------------------------------------------------
 * Owned byte buffer with a size limit
 *
 * Invariants: after hoist_buf_init, `data` is never NULL and data[len] is
 * always '\0' (so text can be used as a C string); len <= limit.  An append
 * that would make len exceed limit fails with E2BIG and leaves the buffer as
 * it was.  Every buffer that holds outside input has a named limit.
 * ------------------------------------------------------------------- */

struct hoist_buf
{
  char *data;
  size_t len;
  size_t alloc;
  size_t limit;
};

#define HOIST_BUF_NO_LIMIT SIZE_MAX

void hoist_buf_init (struct hoist_buf *b, size_t limit);
/* Free the storage; the buffer is re-initialised (empty, same limit). */
void hoist_buf_release (struct hoist_buf *b);
void hoist_buf_reset (struct hoist_buf *b);
int hoist_buf_add (struct hoist_buf *b, const void *p, size_t n, struct hoist_error **err) HOIST_WUR;
int hoist_buf_addstr (struct hoist_buf *b, const char *s, struct hoist_error **err) HOIST_WUR;
int hoist_buf_addch (struct hoist_buf *b, char c, struct hoist_error **err) HOIST_WUR;
int hoist_buf_addf (struct hoist_buf *b, struct hoist_error **err, const char *fmt, ...) HOIST_PRINTF (3, 4) HOIST_WUR;
int hoist_buf_vaddf (struct hoist_buf *b, struct hoist_error **err, const char *fmt, va_list ap)
    HOIST_PRINTF (3, 0) HOIST_WUR;
/* Give the storage to the caller (free() it); *LEN gets the length when
 * LEN is not NULL.  The buffer is re-initialised. */
char *hoist_buf_detach (struct hoist_buf *b, size_t *len);
/* Drop trailing spaces, tabs, CRs and LFs (a secret or token file's
 * final newline). */
void hoist_buf_rtrim (struct hoist_buf *b);
/* Read all of FD into B (appending), honouring B's limit. */
int hoist_buf_read_fd (struct hoist_buf *b, int fd, struct hoist_error **err) HOIST_WUR;
/* Read the file at PATH into B. */
int hoist_buf_read_file (struct hoist_buf *b, const char *path, struct hoist_error **err) HOIST_WUR;

void hoist_buf_freep (struct hoist_buf *b);
#define cleanup_buf __attribute__ ((cleanup (hoist_buf_freep)))

/* ---------------------------------------------------------------------
 * Quoting outside input in messages
 * ------------------------------------------------------------------- */

/* Escape bytes above 0x7F too (for input that must be ASCII when valid). */
#define HOIST_QUOTE_ASCII 1u

/* The N bytes at S as an error message may show them: at most MAX bytes
 * (then "..."), control bytes (and with HOIST_QUOTE_ASCII anything outside
 * printable ASCII) as \xNN, so hostile input cannot garble a terminal or
 * a log.  Owned by the caller. */
char *hoist_quote (const char *s, size_t n, size_t max, unsigned flags);

/* ---------------------------------------------------------------------
 * UTF-8
 * ------------------------------------------------------------------- */

/* Decode the character at S, of which N bytes may be read, as strictly as
 * Go's utf8.DecodeRune.  Returns its length, 1 to 4, with its code point
 * in *CP; a byte below 0x80, NUL included, is one character.  Returns 0
 * when N is 0 or S starts no valid sequence (a stray or truncated byte, an
 * overlong form, a surrogate, a value past U+10FFFF); *CP is then left
 * alone, and the caller decides what the bad byte stands for (Go reads it
 * as U+FFFD, one byte wide).  Reads nothing past the first byte that makes
 * the sequence invalid, so for a NUL-terminated string N may be
 * strnlen (S, 4). */
size_t hoist_utf8_decode (const char *s, size_t n, uint32_t *cp);

/* Go's unicode.IsSpace: true for ASCII \t \n \v \f \r and space, NEL
 * (U+0085), NBSP (U+00A0) and the other Unicode White_Space code points.
 * Callers that read UTF-8 decode R first (hoist_utf8_decode); an invalid
 * byte, U+FFFD to Go, is not white space. */
bool hoist_unicode_is_space (uint32_t r);

/* ---------------------------------------------------------------------
 * SHA-256 digests
 * ------------------------------------------------------------------- */

#define HOIST_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define HOIST_DIGEST_STR_SIZE (7 + HOIST_SHA256_HEX_LEN + 1)

struct hoist_sha256
{
  void *ctx; /* EVP_MD_CTX, owned */
};

int hoist_sha256_init (struct hoist_sha256 *h, struct hoist_error **err) HOIST_WUR;
void hoist_sha256_update (struct hoist_sha256 *h, const void *p, size_t n);
/* Write "sha256:<hex>" into OUT.  The context can not be updated after. */
void hoist_sha256_final (struct hoist_sha256 *h, char out[HOIST_DIGEST_STR_SIZE]);
void hoist_sha256_release (struct hoist_sha256 *h);
/* One-shot digest of a memory range, as "sha256:<hex>". */
int hoist_sha256_digest (const void *p, size_t n, char out[HOIST_DIGEST_STR_SIZE], struct hoist_error **err) HOIST_WUR;
/* True when S is exactly "sha256:" followed by 64 lowercase hex digits. */
bool hoist_digest_valid (const char *s);
/* Constant-time comparison of two byte ranges of equal length N. */
bool hoist_ct_equal (const void *a, const void *b, size_t n);

/* ---------------------------------------------------------------------
 * Secret masking
 *
 * A masker replaces every occurrence of any registered secret with "***"
 * in a stream of writes, including a secret split across two writes: it
 * holds back at most (longest secret - 1) bytes until the next write or
 * hoist_masker_flush() shows they are not the start of a secret.  Where
 * secrets overlap, the leftmost match wins, and at one position the
 * longest; the result does not depend on how the stream was split.  A
 * masker is not thread-safe (the logger guards its own).
 * ------------------------------------------------------------------- */

struct hoist_masker;

/* Receives masked output; returns 0 or negative to stop. */
typedef int (*hoist_masker_sink) (void *ctx, const char *p, size_t n);

struct hoist_masker *hoist_masker_new (hoist_masker_sink sink, void *ctx);
void hoist_masker_free (struct hoist_masker *m);
/* Register a secret (copied).  Secrets shorter than 4 bytes are refused
 * with an error: masking them would shred ordinary output. */
int hoist_masker_add_secret (struct hoist_masker *m, const char *secret, struct hoist_error **err) HOIST_WUR;
/* Both return 0, or the sink's negative value; the bytes being processed
 * when the sink failed are dropped, never sent twice. */
int hoist_masker_write (struct hoist_masker *m, const char *p, size_t n);
/* Emit everything held back (masking complete secrets in it).  A flush is
 * a boundary: nothing before it combines with what is written after. */
int hoist_masker_flush (struct hoist_masker *m);

/* ---------------------------------------------------------------------
 * Logging
 *
 * One line per call, passed through the global masker, to stderr by
 * default: "hoist: error: MSG", "hoist: warning: MSG", "hoist: MSG" (info),
 * "hoist: debug: MSG".  With timestamps on (hoist serve, job logs) each
 * line starts with an RFC 3339 UTC time: "2026-11-22T10:00:00Z ".  A
 * message's own newlines are kept; a final newline is added if missing.
 * Each line is masked whole and written with one write loop, so nothing
 * is held back between calls.  All functions are thread-safe, and
 * hoist_log() leaves errno as it found it.
 * ------------------------------------------------------------------- */

enum hoist_log_level
{
  HOIST_LOG_ERROR = 0,
  HOIST_LOG_WARN,
  HOIST_LOG_INFO,
  HOIST_LOG_DEBUG,
};

void hoist_log_set_level (enum hoist_log_level level);
enum hoist_log_level hoist_log_get_level (void);
/* Send log lines to FD (not owned) instead of stderr. */
void hoist_log_set_fd (int fd);
void hoist_log_set_timestamps (bool on);
/* Register a secret that no log line may show. */
int hoist_log_add_secret (const char *secret, struct hoist_error **err) HOIST_WUR;
void hoist_log (enum hoist_log_level level, const char *fmt, ...) HOIST_PRINTF (2, 3);
/* A line of user-facing output (build progress) to the same sink, through
 * the same masker, with no level prefix and no level filter; a final
 * newline is added if missing. */
void hoist_log_print (const char *fmt, ...) HOIST_PRINTF (1, 2);
void hoist_logv (enum hoist_log_level level, const char *fmt, va_list ap) HOIST_PRINTF (2, 0);
/* Release the global logger's state (for leak-checked tests): registered
 * secrets are forgotten; level, fd and timestamps keep their settings. */
void hoist_log_shutdown (void);

/* ---------------------------------------------------------------------
 * Writing files whole (file.c)
 * ------------------------------------------------------------------- */

/* Write all N bytes of P to FD, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set. */
int hoist_write_all (int fd, const void *p, size_t n) HOIST_WUR;

/* Replace PATH with LEN bytes of DATA: a temporary file beside it with
 * MODE, synced, renamed over PATH.  On failure PATH is as it was and the
 * temporary file is gone. */
int hoist_replace_file (const char *path, const void *data, size_t len, mode_t mode,
                        struct hoist_error **err) HOIST_WUR;

/* The largest secret or token file read. */
#define HOIST_SECRET_MAX 4096

/* Read PATH whole (at most LIMIT bytes) as a one-line secret or token:
 * trailing whitespace dropped, empty refused (naming WHAT, "the webhook
 * secret").  *OUT is the caller's (wipe it with explicit_bzero). */
int hoist_read_secret_file (const char *path, size_t limit, const char *what, char **out, size_t *len,
                            struct hoist_error **err) HOIST_WUR;

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t hoist_now_ms (void);

/* The names in directory DIRFD (any fd of it, O_PATH too) but "." and
 * "..", read whole (so removing them afterwards is safe) into *OUT (a
 * string vector, NULL when empty).  Returns 0, or -1 with errno. */
int hoist_dir_names (int dirfd, char ***out) HOIST_WUR;

/* Remove NAME below DIRFD and everything under it, never following a
 * symlink; directories the owner cannot read or write are opened up
 * first.  A missing NAME is not an error. */
int hoist_rmtree_at (int dirfd, const char *name, struct hoist_error **err);

/* ---------------------------------------------------------------------
 * Spawning processes: argv and env vectors, never a shell.
 * ------------------------------------------------------------------- */

enum hoist_spawn_io
{
  HOIST_SPAWN_NULL = 0, /* /dev/null */
  HOIST_SPAWN_INHERIT,  /* the parent's own stream */
  HOIST_SPAWN_FD,       /* the given fd (not closed by spawn) */
  HOIST_SPAWN_CAPTURE,  /* a pipe read into the given hoist_buf */
};

struct hoist_spawn_opts
{
  /* argv[0] is resolved through PATH (of ENVP when it has one, else of
   * the parent) before fork; only absolute PATH entries are searched.  A
   * name with '/' is used as is (relative to CWD when CWD is set). */
  char *const *argv;
  /* NULL-terminated "K=V" vector; NULL means an empty environment. */
  char *const *envp;
  const char *cwd; /* NULL: the parent's */

  int stdin_fd; /* -1: /dev/null (0 is the parent's stdin) */
  enum hoist_spawn_io stdout_mode;
  int stdout_fd;
  struct hoist_buf *stdout_buf;
  enum hoist_spawn_io stderr_mode;
  int stderr_fd;
  struct hoist_buf *stderr_buf;

  unsigned timeout_ms; /* 0: none; on expiry SIGKILL and -ETIMEDOUT */
};

struct hoist_spawn_result
{
  int exit_code;   /* valid when !signaled */
  int term_signal; /* valid when signaled */
  bool signaled;
  bool timed_out;
};

/* Run the program and wait for it.  Returns 0 when it ran (whatever its
 * exit status; see RES), and negative with *err set when it could not be
 * started (not found, exec failed — the child's errno is reported through
 * a close-on-exec pipe), when capture exceeded a buffer's limit (-E2BIG,
 * the child is killed), or on timeout (-ETIMEDOUT, RES->timed_out set,
 * the child killed with SIGKILL).  The timeout covers the wait for the
 * capture pipes' EOF too.  RES may be NULL.  The child gets
 * PR_SET_PDEATHSIG(SIGKILL) (tied to the calling thread, which is blocked
 * here for the child's life), default signal dispositions, an empty
 * signal mask, and every fd above 2 closed. */
int hoist_spawn (const struct hoist_spawn_opts *opts, struct hoist_spawn_result *res,
                 struct hoist_error **err) HOIST_WUR;

#endif
