/* gen: generated inputs. A realistic Distributed Map export (result files of
 * the checks' records, wrapped as Step Functions writes them, and the
 * manifest listing them) in a directory store, and deeply nested JSON.
 *
 * Guarantees: deterministic (a seed names an export, byte for byte, so the
 * perf guard's numbers are reproducible); a file that cannot be written or a
 * record that does not fit fails the running test (mem.h). */
#ifndef BCR_TEST_GEN_H
#define BCR_TEST_GEN_H

#include <stdbool.h>
#include <stdint.h>

/* JSON nested `depth` deep: arrays, or objects {"a": ...} around a 1.
 * The caller owns the string (free). */
char *gen_nested_json(int depth, bool objects);

/* What to generate. bucket is borrowed. */
struct gen_export_spec {
    const char *bucket; /* default "tdr-backend-checks-intg" */
    uint64_t entries;
    int files;  /* SUCCEEDED files, entries split evenly; >= 1 */
    bool jsonl; /* JSON Lines instead of a JSON array */
    uint32_t seed;
};

/* What was generated (all inline: nothing to free). */
struct gen_export_info {
    char event[4096]; /* the invocation event (JSON) */
    char manifest_key[1024];
    char consignment_id[64];
};

/* Writes manifest and result files under root/bucket. If expected_path is not
 * NULL, also writes there the outputs results.json must hold, one compact JSON
 * value per line, in order. root, spec and expected_path are borrowed; *info
 * is filled. */
void gen_export(const char *root, const struct gen_export_spec *spec, const char *expected_path,
                struct gen_export_info *info);

#endif
