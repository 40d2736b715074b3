#include "s3/error_doc.h"

#include <stdio.h>
#include <string.h>

#include "textw.h"
#include "utf8.h"

struct cursor {
    const char *p, *end;
};

static bool starts(const struct cursor *c, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(c->end - c->p) >= n && memcmp(c->p, s, n) == 0;
}

/* Moves past the next occurrence of `s`; false (at end) if there is none. */
static bool skip_past(struct cursor *c, const char *s)
{
    size_t n = strlen(s);
    for (; (size_t)(c->end - c->p) >= n; c->p++) {
        if (memcmp(c->p, s, n) == 0) {
            c->p += n;
            return true;
        }
    }
    c->p = c->end;
    return false;
}

static bool is_name_end(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '/' || ch == '>';
}

/* Skips a tag's attributes up to and past '>', minding quoted values. Sets
 * *empty for "/>". Returns false if the document ends first. */
static bool skip_attributes(struct cursor *c, bool *empty)
{
    char quote = 0;
    for (; c->p < c->end; c->p++) {
        char ch = *c->p;
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        } else if (ch == '>') {
            *empty = c->p[-1] == '/';
            c->p++;
            return true;
        }
    }
    return false;
}

/* At '<': skips markup that is not an element (declaration, comment, CDATA,
 * DOCTYPE, end tag). Returns true if it skipped something. */
static bool skip_non_element(struct cursor *c)
{
    if (starts(c, "<?"))
        skip_past(c, "?>");
    else if (starts(c, "<!--"))
        skip_past(c, "-->");
    else if (starts(c, "<![CDATA["))
        skip_past(c, "]]>");
    else if (starts(c, "<!") || starts(c, "</"))
        skip_past(c, ">");
    else
        return false;
    return true;
}

/* At '<' of a start tag: reads its local name (prefix dropped) into name. */
static void read_name(struct cursor *c, const char **name, size_t *len)
{
    const char *start = ++c->p;
    while (c->p < c->end && !is_name_end(*c->p))
        c->p++;
    *name = start;
    *len = (size_t)(c->p - start);
    const char *colon = memchr(start, ':', *len);
    if (colon) {
        *len -= (size_t)(colon + 1 - start);
        *name = colon + 1;
    }
}

/* Decoded text goes through a textw: it keeps what fits and tells whether
 * more came (textw_overflowed), which is when a character may have been cut. */
static void put_codepoint(struct textw *w, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    uint8_t u[4];
    textw_bytes(w, u, utf8_from_code_point((uint32_t)cp, u));
}

/* Decodes one entity at '&'; an unknown or malformed one is kept literally. */
static void put_entity(struct textw *s, struct cursor *c)
{
    static const struct {
        const char *name;
        char ch;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        if (starts(c, named[i].name)) {
            textw_bytes(s, &named[i].ch, 1);
            c->p += strlen(named[i].name);
            return;
        }
    }
    if (starts(c, "&#")) {
        const char *p = c->p + 2;
        bool hex = p < c->end && (*p == 'x' || *p == 'X');
        p += hex;
        unsigned long cp = 0;
        const char *digits = p;
        for (; p < c->end && p - digits < 8; p++) {
            int d = *p >= '0' && *p <= '9'          ? *p - '0'
                    : hex && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                    : hex && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                                    : -1;
            if (d < 0)
                break;
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
        }
        if (p > digits && p < c->end && *p == ';') {
            put_codepoint(s, cp);
            c->p = p + 1;
            return;
        }
    }
    textw_bytes(s, c->p, 1);
    c->p++;
}

/* The length of out[0..len) cut back to a UTF-8 character boundary, for a
 * value that may have been truncated (`cut`). */
static size_t trim_utf8(const char *out, size_t len, bool cut)
{
    if (!cut)
        return len;
    size_t i = len;
    size_t cont = 0;
    while (i > 0 && ((unsigned char)out[i - 1] & 0xC0) == 0x80 && cont < 3) {
        i--;
        cont++;
    }
    if (i > 0 && ((unsigned char)out[i - 1] & 0x80)) {
        unsigned char lead = (unsigned char)out[i - 1];
        size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
        if (need != cont)
            return i - 1;
    }
    return len;
}

/* After a start tag: decodes text up to the closing tag. False if a child
 * element appears or the document ends first. */
static bool read_text(struct cursor *c, struct textw *s)
{
    while (c->p < c->end) {
        if (*c->p == '&') {
            put_entity(s, c);
        } else if (*c->p != '<') {
            const char *start = c->p;
            while (c->p < c->end && *c->p != '<' && *c->p != '&')
                c->p++;
            textw_bytes(s, start, (size_t)(c->p - start));
        } else if (starts(c, "<![CDATA[")) {
            const char *start = c->p + 9;
            if (!skip_past(c, "]]>"))
                return false;
            textw_bytes(s, start, (size_t)(c->p - 3 - start));
        } else if (starts(c, "<!--")) {
            if (!skip_past(c, "-->"))
                return false;
        } else {
            return starts(c, "</") && skip_past(c, ">");
        }
    }
    return false;
}

/* Moves to the next element's start tag and reads its name; false at the end. */
static bool next_element(struct cursor *c, const char **name, size_t *n)
{
    while (c->p < c->end) {
        if (*c->p != '<') {
            c->p++;
            continue;
        }
        if (skip_non_element(c))
            continue;
        read_name(c, name, n);
        return true;
    }
    return false;
}

bool s3_xml_root(const char *doc, size_t len, char *out, size_t cap)
{
    struct cursor c = {doc, doc + len};
    const char *name;
    size_t n;
    out[0] = '\0';
    /* A NUL byte is no part of an XML name: such a document is not S3's. */
    if (!next_element(&c, &name, &n) || n == 0 || n >= cap || memchr(name, '\0', n))
        return false;
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

/* As s3_xml_find_text; with `unclosed` not NULL, a value the document ends in
 * (no closing tag) is kept too, and *unclosed set. */
static bool find_text(const char *doc, size_t len, const char *name, char *out, size_t cap,
                      bool *unclosed)
{
    struct cursor c = {doc, doc + len};
    size_t want = strlen(name);
    out[0] = '\0';
    const char *tag;
    size_t n;
    while (next_element(&c, &tag, &n)) {
        bool empty = false;
        if (!skip_attributes(&c, &empty))
            return false;
        if (n != want || memcmp(tag, name, n) != 0)
            continue;
        if (empty)
            return true;
        struct textw s;
        textw_init(&s, out, cap);
        bool ok = read_text(&c, &s);
        bool cut = textw_overflowed(&s);
        if (!ok && unclosed && c.p == c.end) {
            *unclosed = true;
            cut = true; /* the end may cut a character */
            ok = true;
        }
        size_t kept = s.len < cap ? s.len : cap - 1;
        out[ok ? trim_utf8(out, kept, cut) : 0] = '\0';
        return ok;
    }
    return false;
}

bool s3_xml_find_text(const char *doc, size_t len, const char *name, char *out, size_t cap)
{
    return find_text(doc, len, name, out, cap, NULL);
}

/* Keeps [A-Za-z0-9.] only: a code becomes an errorType, a name callers match. */
static void sanitise_code(char *code)
{
    char *w = code;
    for (const char *r = code; *r; r++)
        if ((*r >= 'A' && *r <= 'Z') || (*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') ||
            *r == '.')
            *w++ = *r;
    *w = '\0';
}

bool s3_error_parse(const char *doc, size_t len, struct s3_error_doc *out)
{
    char root[16];
    out->code[0] = out->message[0] = '\0';
    if (!s3_xml_root(doc, len, root, sizeof root) || strcmp(root, "Error") != 0)
        return false;
    bool unclosed = false;
    /* The start of a message cut short (a body over the store's limit) says
     * more than none. */
    if (find_text(doc, len, "Message", out->message, sizeof out->message - 4, &unclosed) &&
        unclosed)
        strcat(out->message, "...");
    bool found = s3_xml_find_text(doc, len, "Code", out->code, sizeof out->code);
    sanitise_code(out->code);
    return found && out->code[0];
}

void s3_error_code_for_status(long status, enum s3_op op, char *out, size_t cap)
{
    const char *code = NULL;
    switch (status) {
    case 301:
    case 308:
        code = "PermanentRedirect";
        break;
    case 302:
    case 303:
    case 307:
        code = "TemporaryRedirect";
        break;
    case 400:
        code = "BadRequest";
        break;
    case 403:
        code = "AccessDenied";
        break;
    case 404:
        code = s3_op_info(op)->not_found;
        break;
    case 405:
        code = "MethodNotAllowed";
        break;
    case 409:
        code = "Conflict";
        break;
    case 412:
        code = "PreconditionFailed";
        break;
    case 416:
        code = "InvalidRange";
        break;
    case 429:
        code = "Throttling";
        break;
    case 500:
        code = "InternalError";
        break;
    case 501:
        code = "NotImplemented";
        break;
    case 502:
        code = "BadGateway";
        break;
    case 503:
        code = "SlowDown";
        break;
    case 504:
        code = "GatewayTimeout";
        break;
    default:
        break;
    }
    if (code)
        snprintf(out, cap, "%s", code);
    else
        snprintf(out, cap, "%ld", status);
}

int s3_error_set(struct error *err, const char *type, const char *code, const char *operation,
                 const char *message, int retries)
{
    char retry_info[48] = "";
    if (retries >= 0)
        snprintf(retry_info, sizeof retry_info, " (reached max retries: %d)", retries);
    return error_set(err, type, "An error occurred (%s) when calling the %s operation%s: %s", code,
                     operation, retry_info, message && *message ? message : "Unknown");
}

void s3_error_where(struct error *err, const char *operation, const char *bucket, const char *key,
                    int64_t offset, const char *note)
{
    char at[48] = "";
    if (offset > 0)
        snprintf(at, sizeof at, " at byte offset %lld", (long long)offset);
    bool noted = note && *note;
    error_where(err, "%s s3://%s/%s%s%s%s%s", operation, bucket, key, at, noted ? " (" : "",
                noted ? note : "", noted ? ")" : "");
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* The entity whose name starts at t[i] (just after '&'): its byte value, with
 * *end just past its ';'; -1 if there is none (or it is not one byte). */
static int entity_at(const char *t, size_t len, size_t i, size_t *end)
{
    static const struct {
        const char *name;
        char value;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    const char *semi = memchr(t + i, ';', len - i < 12 ? len - i : 12);
    if (!semi)
        return -1;
    size_t n = (size_t)(semi - (t + i));
    *end = i + n + 1;
    for (size_t k = 0; k < sizeof named / sizeof *named; k++)
        if (strlen(named[k].name) == n && memcmp(t + i, named[k].name, n) == 0)
            return (unsigned char)named[k].value;
    if (n < 2 || t[i] != '#')
        return -1;
    bool hex = (t[i + 1] | 0x20) == 'x';
    long v = 0;
    size_t first = i + 1 + hex;
    if (first == i + n)
        return -1;
    for (size_t k = first; k < i + n; k++) {
        int d = hex ? hex_digit(t[k]) : (t[k] >= '0' && t[k] <= '9' ? t[k] - '0' : -1);
        if (d < 0 || v > 255)
            return -1;
        v = v * (hex ? 16 : 10) + d;
    }
    return v <= 255 ? (int)v : -1;
}

/* The byte t[i] stands for, with *used the bytes it takes: a percent escape
 * (%2B or %2b; %252B, encoded twice), an XML or HTML entity (&#43;, &#x2b;,
 * &amp;; &amp;#43;, escaped twice), or t[i] itself. */
static int unit_at(const char *t, size_t len, size_t i, size_t *used)
{
    *used = 1;
    if (t[i] == '%' && len - i >= 3 && hex_digit(t[i + 1]) >= 0 && hex_digit(t[i + 2]) >= 0) {
        int v = hex_digit(t[i + 1]) * 16 + hex_digit(t[i + 2]);
        *used = 3;
        if (v == '%' && len - i >= 5 && hex_digit(t[i + 3]) >= 0 && hex_digit(t[i + 4]) >= 0) {
            *used = 5;
            return hex_digit(t[i + 3]) * 16 + hex_digit(t[i + 4]);
        }
        return v;
    }
    size_t end;
    int v = t[i] == '&' ? entity_at(t, len, i + 1, &end) : -1;
    if (v < 0)
        return (unsigned char)t[i];
    size_t inner_end;
    int inner = v == '&' ? entity_at(t, len, end, &inner_end) : -1;
    *used = (inner >= 0 ? inner_end : end) - i;
    return inner >= 0 ? inner : v;
}

static bool same_letter(int a, int b)
{
    if (a >= 'A' && a <= 'Z')
        a += 'a' - 'A';
    if (b >= 'A' && b <= 'Z')
        b += 'a' - 'A';
    return a == b;
}

/* How much of text from t[i] spells secret, in either case, byte for byte
 * or (decode) in any of the forms unit_at reads: returns the bytes of text
 * covered, *matched the bytes of secret spelt (slen for the whole of it). */
static size_t spell(const char *t, size_t len, size_t i, const char *secret, size_t slen,
                    bool decode, size_t *matched)
{
    size_t k = 0, p = i;
    while (k < slen && p < len) {
        size_t used = 1;
        int v = decode ? unit_at(t, len, p, &used) : (unsigned char)t[p];
        if (same_letter(v, (unsigned char)secret[k]))
            p += used;
        else if (used > 1 && same_letter((unsigned char)t[p], (unsigned char)secret[k]))
            p++; /* a '%' or '&' of the secret's own */
        else
            break;
        k++;
    }
    *matched = k;
    return p - i;
}

/* True if text from t[p] is the start of an escape cut short by the end. */
static bool escape_cut_at_end(const char *t, size_t len, size_t p)
{
    return (t[p] == '%' && len - p < 5) ||
           (t[p] == '&' && len - p < 24 && !memchr(t + p, ';', len - p));
}

void s3_redact(char *text, const char *const secrets[], size_t count)
{
    /* No longer than the shortest secret redacted, so text never grows. */
    static const char mark[] = "[hidden]";
    enum { MIN_SECRET = sizeof mark - 1 };
    for (size_t s = 0; s < count; s++) {
        const char *secret = secrets[s];
        size_t slen = secret ? strlen(secret) : 0;
        if (slen < MIN_SECRET)
            continue;
        /* Byte for byte first: decoding prefers an escape, which would miss
         * a secret holding a '%' or '&' quoted as it is. */
        for (int decode = 0; decode < 2; decode++) {
            size_t len = strlen(text);
            for (size_t i = 0; i < len; i++) {
                size_t matched, covered = spell(text, len, i, secret, slen, decode, &matched);
                if (matched == slen) {
                    memcpy(text + i, mark, MIN_SECRET);
                    memmove(text + i + MIN_SECRET, text + i + covered, len + 1 - (i + covered));
                    len -= covered - MIN_SECRET;
                    i += MIN_SECRET - 1;
                } else if (matched >= MIN_SECRET &&
                           (i + covered == len || escape_cut_at_end(text, len, i + covered))) {
                    /* A quote cut short by truncation ends in the secret's first bytes. */
                    memcpy(text + i, mark, sizeof mark);
                    break;
                }
            }
        }
    }
}
