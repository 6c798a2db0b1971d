/* copy_url.c — ADD of an http(s) URL, as BuildKit's HTTP source fetches
 * it: redirects followed (http and https only), the body stored as
 * served (no Accept-Encoding, so nothing is decoded), the file named
 * after the last component of the URL's path ("__unnamed__" when there is
 * none), mode 0600, mtime from Last-Modified or 0.  The body goes to an
 * unlinked temp file, hashed as it arrives, and stops at
 * BUILDER_COPY_URL_MAX bytes.  No credentials are ever sent: ADD has none
 * to send.
 *
 * Git sources (git@host:repo, git://, ssh://, https://.../repo.git) are
 * told apart so that they fail with their own message. */
#define BUILDER_INTERNAL
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/copy_private.h"

#define UNNAMED "__unnamed__"
#define CONNECT_TIMEOUT_S 30L
/* A download that moves less than a byte a second for this long fails. */
#define STALL_TIMEOUT_S 120L
#define REDIRECTS_MAX 10L

bool
copy_is_git (const char *s)
{
  size_t n = strcspn (s, "#?");

  if (strncmp (s, "git@", 4) == 0 || strncmp (s, "git://", 6) == 0 || strncmp (s, "ssh://", 6) == 0)
    return true;
  if (strncmp (s, "http://", 7) != 0 && strncmp (s, "https://", 8) != 0)
    return false;
  while (n > 0 && s[n - 1] == '/')
    n--;
  return n >= 4 && strncmp (s + n - 4, ".git", 4) == 0;
}

bool
copy_is_url (const char *s)
{
  return (strncmp (s, "http://", 7) == 0 || strncmp (s, "https://", 8) == 0) && !copy_is_git (s);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init (void)
{
  curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

/* The file name BuildKit gives a download: path.Base of the URL's
 * decoded path. */
static int
url_file_name (const char *url, char **out, struct hoist_error **err)
{
  CURLU *u = curl_url ();
  char *path = NULL;
  const char *base;
  CURLUcode rc;

  if (u == NULL)
    abort ();
  rc = curl_url_set (u, CURLUPART_URL, url, 0);
  if (rc == CURLUE_OK)
    rc = curl_url_get (u, CURLUPART_PATH, &path, CURLU_URLDECODE);
  curl_url_cleanup (u);
  if (rc != CURLUE_OK)
    return hoist_error_set_status (err, EINVAL, "ADD: invalid URL '%s': %s", url, curl_url_strerror (rc));
  {
    size_t len = strlen (path);

    while (len > 0 && path[len - 1] == '/')
      path[--len] = '\0';
  }
  base = strrchr (path, '/');
  base = base != NULL ? base + 1 : path;
  if (base[0] == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    base = UNNAMED;
  *out = hoist_xstrdup (base);
  curl_free (path);
  return 0;
}

struct sink
{
  int fd;
  int64_t size;
  struct hoist_sha256 h;
  bool too_big;
  int write_errno;
};

static size_t
sink_write (char *p, size_t size, size_t nmemb, void *ud)
{
  struct sink *s = ud;
  size_t n = size * nmemb, left = n;

  if (s->size + (int64_t) n > BUILDER_COPY_URL_MAX)
    {
      s->too_big = true;
      return 0;
    }
  hoist_sha256_update (&s->h, p, n);
  while (left > 0)
    {
      ssize_t w = write (s->fd, p, left);

      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          s->write_errno = w < 0 ? errno : EIO;
          return 0;
        }
      p += w;
      left -= (size_t) w;
    }
  s->size += (int64_t) n;
  return n;
}

static void
easy_cleanupp (CURL **c)
{
  if (*c != NULL)
    curl_easy_cleanup (*c);
}

static int
perform (struct copy_state *st, const char *url, struct sink *s, int64_t *mtime, struct hoist_error **err)
{
  __attribute__ ((cleanup (easy_cleanupp))) CURL *c = curl_easy_init ();
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_off_t filetime = -1;
  long code = 0;
  CURLcode rc;

  if (c == NULL)
    return hoist_error_set_status (err, ENOMEM, "ADD: cannot start a download");
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, REDIRECTS_MAX);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) BUILDER_COPY_URL_MAX);
  curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "hoist");
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, s);
  rc = curl_easy_perform (c);
  if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
    return hoist_error_set_status (err, E2BIG, "ADD: '%s' is larger than %lld bytes", url,
                                   (long long) BUILDER_COPY_URL_MAX);
  if (s->write_errno != 0)
    return hoist_error_set (err, s->write_errno, "ADD: cannot store '%s' in '%s'", url, st->tmp_dir);
  if (rc != CURLE_OK)
    return hoist_error_set_status (err, EIO, "ADD: cannot download '%s': %s", url,
                                   errbuf[0] != '\0' ? errbuf : curl_easy_strerror (rc));
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code > 299)
    return hoist_error_set_status (err, code == 404 ? ENOENT : EIO, "ADD: cannot download '%s': HTTP status %ld", url,
                                   code);
  curl_easy_getinfo (c, CURLINFO_FILETIME_T, &filetime);
  *mtime = filetime >= 0 ? (int64_t) filetime : 0;
  return 0;
}

int
copy_url_fetch (struct copy_state *st, const char *url, const char *checksum, int *fd, uint64_t *temp, int64_t *size,
                char digest[HOIST_DIGEST_STR_SIZE], int64_t *mtime, char **name, struct hoist_error **err)
{
  cleanup_free char *base = NULL;
  struct sink s = { .fd = -1 };
  cleanup_close int out = -1;
  int ret;

  pthread_once (&curl_once, curl_init);
  if (curl_init_code != CURLE_OK)
    return hoist_error_set_status (err, EIO, "ADD: cannot initialise libcurl: %s", curl_easy_strerror (curl_init_code));
  if (url_file_name (url, &base, err) < 0)
    return -1;
  if (copy_temp_create (st, &out, temp, err) < 0)
    return hoist_error_wrap (err, "ADD: cannot download '%s'", url);
  s.fd = out;
  if (hoist_sha256_init (&s.h, err) < 0)
    return hoist_error_wrap (err, "ADD: cannot download '%s'", url);
  ret = perform (st, url, &s, mtime, err);
  if (ret == 0)
    hoist_sha256_final (&s.h, digest);
  hoist_sha256_release (&s.h);
  if (ret < 0)
    return -1;
  if (checksum != NULL && strcmp (checksum, digest) != 0)
    return hoist_error_set_status (err, EBADMSG, "ADD: checksum mismatch for '%s': expected %s, got %s", url, checksum,
                                   digest);
  *fd = steal_fd (&out);
  *size = s.size;
  *name = steal_pointer (&base);
  return 0;
}
