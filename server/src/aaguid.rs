//! A small AAGUID → authenticator name table (from the public passkey AAGUID lists), so the
//! account page can say "iCloud Keychain" instead of a UUID.

use uuid::{Uuid, uuid};

const KNOWN: &[(Uuid, &str)] = &[
    (
        uuid!("fbfc3007-154e-4ecc-8c0b-6e020557d7bd"),
        "iCloud Keychain",
    ),
    (
        uuid!("dd4ec289-e01d-41c9-bb89-70fa845d4bf2"),
        "iCloud Keychain (Managed)",
    ),
    (
        uuid!("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"),
        "Google Password Manager",
    ),
    (
        uuid!("adce0002-35bc-c60a-648b-0b25f1f05503"),
        "Chrome on Mac",
    ),
    (
        uuid!("08987058-cadc-4b81-b6e1-30de50dcbe96"),
        "Windows Hello",
    ),
    (
        uuid!("9ddd1817-af5a-4672-a2b9-3e3dd95000a9"),
        "Windows Hello",
    ),
    (
        uuid!("6028b017-b1d4-4c02-b4b3-afcdafc96bb2"),
        "Windows Hello",
    ),
    (uuid!("bada5566-a7aa-401f-bd96-45619a55120d"), "1Password"),
    (uuid!("d548826e-79b4-db40-a3d8-11116f7e8349"), "Bitwarden"),
    (uuid!("531126d6-e717-415c-9320-3d9aa6981239"), "Dashlane"),
    (uuid!("b84e4048-15dc-4dd0-8640-f4f60813c8af"), "NordPass"),
    (uuid!("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6"), "Keeper"),
    (uuid!("f3809540-7f14-49c1-a8b3-8f813b225541"), "Enpass"),
    (
        uuid!("53414d53-554e-4700-0000-000000000000"),
        "Samsung Pass",
    ),
    (
        uuid!("cb69481e-8ff7-4039-93ec-0a2729a154a8"),
        "YubiKey 5 Series",
    ),
    (
        uuid!("ee882879-721c-4913-9775-3dfcce97072a"),
        "YubiKey 5 Series",
    ),
    (
        uuid!("fa2b99dc-9e39-4257-8f92-4a30d23c4118"),
        "YubiKey 5 Series with NFC",
    ),
    (
        uuid!("2fc0579f-8113-47ea-b116-bb5a8db9202a"),
        "YubiKey 5 Series with NFC",
    ),
    (uuid!("771b48fd-d3d4-4f74-9232-fc157ab0507a"), "Edge on Mac"),
    (
        uuid!("b5397666-4885-aa6b-cebf-e52262a439a2"),
        "Chromium Browser",
    ),
];

/// The authenticator's name, when the AAGUID is a known one (the all-zero AAGUID is not).
pub fn name(aaguid: Option<Uuid>) -> Option<&'static str> {
    let aaguid = aaguid?;
    KNOWN
        .iter()
        .find(|(id, _)| *id == aaguid)
        .map(|(_, name)| *name)
}
