/* Fuzz target: the invocation event (event_parse).
 *
 * Any bytes give either a parsed event whose fields keep their documented
 * invariants (non-empty bucket and key; the consignment id, maybe empty, is
 * the key's first segment), or an InvalidEvent error whose document is valid JSON. The input
 * is handed over without a terminating NUL, so a read past its end is caught. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {ERR_INVALID_EVENT, ERR_OUT_OF_MEMORY, NULL};
    char *json = fuzz_exact_copy(data, size);
    struct event ev;
    struct error err = {0};
    if (event_parse(json, size, &ev, &err) == 0) {
        FUZZ_CHECK(!err.type[0], "success with an error set: %s", err.type);
        FUZZ_CHECK(ev.bucket && ev.bucket[0], "empty bucket");
        FUZZ_CHECK(ev.manifest_key && ev.manifest_key[0], "empty manifest key");
        FUZZ_CHECK(ev.consignment_id, "no consignment id"); /* empty for a key "/..." */
        size_t n = strlen(ev.consignment_id);
        FUZZ_CHECK(strchr(ev.consignment_id, '/') == NULL, "consignment id holds '/'");
        FUZZ_CHECK(strncmp(ev.manifest_key, ev.consignment_id, n) == 0 &&
                       (ev.manifest_key[n] == '/' || ev.manifest_key[n] == '\0'),
                   "consignment id %s is not the first segment of %s", ev.consignment_id,
                   ev.manifest_key);
        event_free(&ev);
        FUZZ_CHECK(!ev.bucket && !ev.manifest_key && !ev.consignment_id, "event_free left fields");
    } else {
        fuzz_check_error(&err, allowed);
        FUZZ_CHECK(!ev.bucket && !ev.manifest_key && !ev.consignment_id,
                   "failed parse left fields set");
    }
    free(json);
    return 0;
}
