#!/usr/bin/env node
// Validates CycloneDX JSON SBOMs against the specification's JSON schema
// (strict: no property the schema does not define), with the schemas and the
// validator that @cyclonedx/cyclonedx-library ships (ajv, from the committed
// lockfile); nothing is fetched. Used by tests/integration/test_package.c.
//
//   node tests/sbom/validate.js FILE...
//
// Exit 0 when every file is valid; 1, with the schema's complaints on stderr,
// when one is not.
'use strict';

const fs = require('fs');
const CDX = require('@cyclonedx/cyclonedx-library');

async function main(files) {
    let failed = 0;
    for (const file of files) {
        const text = fs.readFileSync(file, 'utf8');
        const version = JSON.parse(text).specVersion;
        if (!CDX.Spec.SpecVersionDict[version]) throw new Error(`${file}: unknown specVersion ${version}`);
        const errors = await new CDX.Validation.JsonStrictValidator(version).validate(text);
        if (errors) {
            failed++;
            console.error(`${file}: not valid CycloneDX ${version}:\n${JSON.stringify(errors, null, 1)}`);
        } else {
            console.log(`${file}: valid CycloneDX ${version}`);
        }
    }
    return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
        console.error(`validate: ${err.stack || err}`);
        process.exit(2);
    },
);
