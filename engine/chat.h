/*
 * chat.h — chat templates: turn a conversation (system / user / assistant
 * messages) into the prompt text a chat model was trained on.  The text is
 * then encoded WITHOUT the tokenizer's post-processor tokens (the template
 * writes <bos> itself), as Hugging Face apply_chat_template and vLLM do —
 * except for `raw`, see chat_add_special().
 *
 * Formats (../shared/tokenizer/gemma3/README.md, "Chat template"):
 *
 *   gemma3   exactly what Gemma 3's Jinja chat_template renders: bos_token,
 *            then per message "<start_of_turn>ROLE\n" + trim(content) +
 *            "<end_of_turn>\n" with assistant written as "model"; a leading
 *            system message is not a turn: its text (untrimmed) + "\n\n" is
 *            put in front of the first remaining message.  Messages at even
 *            positions (after the system one) must be user, at odd positions
 *            must not be ("Conversation roles must alternate ...").  trim is
 *            Python's str.strip(): the characters str.isspace() accepts
 *            (\t \n \v \f \r \x1c-\x1f space U+0085 U+00A0 U+1680
 *            U+2000-U+200A U+2028 U+2029 U+202F U+205F U+3000).  The
 *            generation prompt is "<start_of_turn>model\n".
 *   chatml   Qwen3 / ChatML: "<|im_start|>ROLE\ncontent<|im_end|>\n" per
 *            message (content verbatim), generation prompt
 *            "<|im_start|>assistant\n", followed by "<think>\n\n</think>\n\n"
 *            when thinking is off (Qwen3's enable_thinking=false).  Earlier
 *            assistant turns are written verbatim (Qwen3's template would
 *            drop their <think> blocks).
 *   zaya1    PROVISIONAL (ZAYA1-8B's own template could not be retrieved):
 *            bos_token + the ChatML layout, thinking switch as chatml.  The
 *            strings are one table in chat.c.
 *   raw      (alias none) the message contents concatenated, nothing added;
 *            the generation prompt and thinking switch have no effect.
 *   FILE     a template file (any spec that is not one of the names above),
 *            syntax below.
 *
 * Marker strings are text: nothing here knows token ids.  bos_token and
 * eos_token come from tokenizer_config.json when one is given (a string or
 * an {"content": ...} object); without one, gemma3 and zaya1 use "<bos>".
 *
 * Template FILE syntax (UTF-8, one item per line; "\r\n" line ends allowed):
 *
 *   # a comment            a line whose first character is '#' is ignored
 *                          (blank lines too)
 *   [user]                 a line that starts with '[' and ends with ']'
 *                          starts a section; names: bos, system, user,
 *                          assistant, generation, generation_nothink; each
 *                          at most once; [user] and [assistant] required
 *   <|im_start|>user\n     the other lines of a section are concatenated
 *   {content}<|im_end|>\n  with no line break between them (spaces kept)
 *
 *   Escapes: \n newline, \t tab, \\ backslash, \{ a literal '{', \# and \[
 *   (so a line can start with '#' or '[').  Placeholders: {content} (the
 *   message text, exactly once in system/user/assistant and nowhere else),
 *   {bos} and {eos} (bos_token / eos_token of tokenizer_config.json; an
 *   error when unknown).  Any other '{' or '\' sequence is an error.
 *   Rendering: [bos], then each message through its role's section (a role
 *   without a section is an error), then, with the generation prompt,
 *   [generation_nothink] when thinking is off and that section exists,
 *   else [generation] (empty when absent).  Content is inserted verbatim.
 *   Errors name the file and line.
 */
#ifndef ZEVAL_CHAT_H
#define ZEVAL_CHAT_H

#include <stddef.h>

typedef struct chat_template chat_template;

/* One message; both strings are borrowed, NUL-terminated UTF-8. */
typedef struct {
    const char *role;    /* "system", "user", "assistant" (gemma3 passes others through) */
    const char *content;
} chat_msg;

typedef struct {
    int add_generation_prompt; /* 1: end with the assistant's turn opener */
    int thinking;              /* 1 on (the default), 0 off */
} chat_opts;

/* The defaults: generation prompt on, thinking on. */
chat_opts chat_default_opts(void);

/* Loads a template by spec: a format name (gemma3, chatml, zaya1, raw,
 * none) or a template FILE path.  config is a tokenizer_config.json path,
 * a directory holding one, or NULL; it supplies bos_token / eos_token (a
 * directory without the file counts as NULL).  *out is owned by the caller
 * (chat_free).  Returns 0, or -1 with a message naming the file (and line). */
int chat_load(const char *spec, const char *config, chat_template **out, char *err,
              size_t errlen);

/* Chooses a template for a checkpoint directory or a tokenizer_config.json
 * path: DIR/chat_template.jinja (or the one beside the file) when present,
 * else the config's chat_template (a string, or the "default" entry of a
 * list), recognised by distinctive strings: "<start_of_turn>" -> gemma3,
 * "<|im_start|>" with "zyphra" in it (or config.json's model_type "zaya"
 * beside it) -> zaya1, other "<|im_start|>" -> chatml; anything else -> raw.
 * why (may be NULL) gets a one-line reason for the choice.  Returns -1 only
 * on a real error (unreadable or malformed file); a missing config or
 * template is a raw choice with its reason. */
int chat_detect(const char *path, chat_template **out, char *why, size_t whylen, char *err,
                size_t errlen);

void chat_free(chat_template *t);

/* "gemma3", "chatml", "zaya1", "raw" or "file". */
const char *chat_name(const chat_template *t);

/* Whether the rendered text should be encoded with the tokenizer's
 * post-processor tokens: 1 for raw (plain completion, as before templates
 * existed), 0 for every template (it writes bos itself). */
int chat_add_special(const chat_template *t);

/* The marker strings the template writes (bos and turn markers), for a
 * caller to check that each is one token of its tokenizer.  Returns the
 * count; (*list)[i] borrowed from t. */
int chat_markers(const chat_template *t, const char *const **list);

/* Renders msgs[0..n) into *out (malloc'd, NUL-terminated, *len bytes).
 * Errors: an empty conversation, a role the format cannot write, gemma3's
 * role alternation, output over 256 MiB. */
int chat_render(const chat_template *t, const chat_msg *msgs, size_t n, const chat_opts *o,
                char **out, size_t *len, char *err, size_t errlen);

#endif
