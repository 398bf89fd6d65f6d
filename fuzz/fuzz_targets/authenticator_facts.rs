//! `authenticator_facts`: Sesame's own reading of an attestation object (CBOR) for the backup
//! flags, the sign count and the AAGUID, from arbitrary bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::service::passkeys::authenticator_facts;

fuzz_target!(|data: &[u8]| {
    let facts = authenticator_facts(data);
    // A backed-up credential is always backup eligible in what Sesame reports only if the
    // authenticator said so; nothing to assert beyond "no panic", but touch every field.
    let _ = (
        facts.aaguid,
        facts.backup_eligible,
        facts.backup_state,
        facts.sign_count,
    );
});
