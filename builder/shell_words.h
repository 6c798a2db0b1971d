/* shell_words.h — private to builder/: Docker's word processing for
 * Dockerfile arguments (quotes, escapes, $VAR / ${VAR...} substitution and
 * word splitting), as BuildKit's shell lexer does it.  Not a public API. */
#ifndef HOIST_BUILDER_SHELL_WORDS_H
#define HOIST_BUILDER_SHELL_WORDS_H

#include "common/common.h"

/* Returns the value of NAME, or NULL when it is not set.  The string is
 * borrowed: it must stay valid until the expanding call returns. */
typedef const char *(*builder_lookup_fn) (void *ctx, const char *name);

struct builder_lexer
{
  char escape; /* '\\' or '`', from the escape directive */
  builder_lookup_fn lookup;
  void *ctx;
};

/* @@SHELL_WORDS_API@@ — the shell-words helper fills this section. */

/* Limits on untrusted input; going over one fails with E2BIG (the first
 * and third) or -1, never with unbounded memory, stack or time.
 * WORD_MAX: bytes of output of one call (the word, or all words with the
 * whitespace between them) and of any one expanded piece.
 * NEST_MAX: levels of ${VAR<op>...} inside the word of another.
 * MATCH_STEPS_MAX: pattern-matching work of one call (${VAR#p}, %, /). */
#define BUILDER_SHELL_WORD_MAX (1024 * 1024)
#define BUILDER_SHELL_NEST_MAX 64
#define BUILDER_SHELL_MATCH_STEPS_MAX (1 << 26)

/* Process WORD as one word (Docker's ProcessWord): quotes removed, escapes
 * applied, variables substituted through LX->lookup, no splitting.  The
 * forms: $NAME, ${NAME}, ${NAME-w} ${NAME:-w} ${NAME+w} ${NAME:+w}
 * ${NAME?w} ${NAME:?w}, ${NAME#p} ${NAME##p} ${NAME%p} ${NAME%%p}
 * ${NAME/p/r} ${NAME//p/r}.  On success *OUT is a new string owned by the
 * caller (free()).  Returns 0, or negative with *ERR set; *OUT is then
 * untouched.  Messages read "PROBLEM in 'WORD'" (e.g. "missing '}' in
 * '${FOO'", "unterminated double quote in '\"a'"), except ${NAME?w} and
 * ${NAME:?w}, which fail as BuildKit does with "NAME: w" or "NAME: is not
 * allowed to be unset" / "NAME: is not allowed to be empty". */
int builder_shell_word (const struct builder_lexer *lx, const char *word, char **out,
                        struct hoist_error **err) HOIST_WUR;

/* Process TEXT and split it into words (Docker's ProcessWords).  As in
 * BuildKit: words end at unquoted, unescaped whitespace and at whitespace
 * inside an unquoted substituted value ($V with V="a b" gives two words);
 * quoted text never splits; a word is never empty, so "" or '' alone adds
 * no word.  On success *OUT is a NULL-terminated vector owned by the caller
 * (free with hoist_strv_free); it is an empty vector (not NULL) when TEXT
 * holds no words.  Returns 0, or negative with *ERR set as
 * builder_shell_word; *OUT is then untouched. */
int builder_shell_words (const struct builder_lexer *lx, const char *text, char ***out,
                         struct hoist_error **err) HOIST_WUR;

#endif
