use std::fs;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use provenance_core::dsse::{IN_TOTO_PAYLOAD_TYPE, key_id, sign_envelope, verify_envelope};
use provenance_store::keyring::{Keyring, KeyringError, parse_public_key};

fn keys_dir(data: &tempfile::TempDir) -> std::path::PathBuf {
    data.path().join("keys")
}

#[test]
fn a_signing_key_is_generated_on_first_start_and_reloaded_identically() {
    let data = tempfile::tempdir().unwrap();
    let first = Keyring::load_or_generate(data.path()).unwrap();
    assert!(keys_dir(&data).join("signing-key.pem").exists());
    assert!(keys_dir(&data).join("keyring.json").exists());

    let again = Keyring::load_or_generate(data.path()).unwrap();
    assert_eq!(again.signing_key().to_bytes(), first.signing_key().to_bytes());
    assert_eq!(again.public_keys(), first.public_keys());
    let current = first.current();
    assert_eq!(current.keyid, key_id(&first.signing_key().verifying_key()));
    assert_eq!(current.algorithm, "ed25519");
    assert_eq!(current.retired_at, None);
    assert!(current.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(STANDARD.decode(&current.public_key_base64).unwrap(), first.signing_key().verifying_key().as_bytes());
}

#[cfg(unix)]
#[test]
fn the_private_key_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    Keyring::load_or_generate(data.path()).unwrap();
    let mode = |p: std::path::PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(keys_dir(&data).join("signing-key.pem")), 0o600);
    assert_eq!(mode(keys_dir(&data)), 0o700);
}

#[test]
fn rotation_makes_a_new_current_key_and_keeps_the_old_one_listed_as_retired() {
    let data = tempfile::tempdir().unwrap();
    let old = Keyring::load_or_generate(data.path()).unwrap();
    let new_info = Keyring::rotate(data.path()).unwrap();
    assert_ne!(new_info.keyid, old.current().keyid);

    let now = Keyring::load_or_generate(data.path()).unwrap();
    assert_eq!(now.current(), &new_info);
    assert_eq!(now.public_keys().len(), 2);
    let retired = &now.public_keys()[0];
    assert_eq!(retired.keyid, old.current().keyid);
    assert!(retired.retired_at.is_some());
    assert_eq!(now.verifying_keys().len(), 2);

    // A bundle signed before the rotation still verifies with the keyring's keys.
    let bundle = sign_envelope(old.signing_key(), IN_TOTO_PAYLOAD_TYPE, b"{}");
    assert!(verify_envelope(&bundle, &now.verifying_keys(), IN_TOTO_PAYLOAD_TYPE).is_ok());
}

#[test]
fn a_malformed_key_file_is_an_error_naming_the_file() {
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("signing.pem");
    fs::write(&path, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n").unwrap();
    let err = Keyring::load_file(&path).unwrap_err();
    assert!(matches!(err, KeyringError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");

    let missing = data.path().join("absent.pem");
    let err = Keyring::load_file(&missing).unwrap_err();
    assert!(matches!(err, KeyringError::Io { .. }) && err.to_string().contains("absent.pem"), "{err}");
}

#[test]
fn a_corrupted_generated_key_stops_loading_instead_of_being_replaced() {
    let data = tempfile::tempdir().unwrap();
    Keyring::load_or_generate(data.path()).unwrap();
    fs::write(keys_dir(&data).join("signing-key.pem"), "garbage").unwrap();
    assert!(Keyring::load_or_generate(data.path()).is_err());
}

#[test]
fn a_configured_key_file_loads_as_the_only_key() {
    let data = tempfile::tempdir().unwrap();
    let generated = Keyring::load_or_generate(data.path()).unwrap();
    let loaded = Keyring::load_file(&keys_dir(&data).join("signing-key.pem")).unwrap();
    assert_eq!(loaded.signing_key().to_bytes(), generated.signing_key().to_bytes());
    assert_eq!(loaded.public_keys().len(), 1);
    assert_eq!(loaded.current().keyid, generated.current().keyid);
}

#[test]
fn public_keys_parse_from_pem_and_from_base64_of_the_raw_bytes() {
    let data = tempfile::tempdir().unwrap();
    let ring = Keyring::load_or_generate(data.path()).unwrap();
    let expected = ring.signing_key().verifying_key();
    let raw = expected.as_bytes();

    assert_eq!(parse_public_key(&ring.current().public_key_pem).unwrap(), expected);
    assert_eq!(parse_public_key(&ring.current().public_key_base64).unwrap(), expected);
    assert_eq!(parse_public_key(&URL_SAFE_NO_PAD.encode(raw)).unwrap(), expected);
    assert_eq!(parse_public_key(&format!("  {}\n", STANDARD.encode(raw))).unwrap(), expected);
    assert!(parse_public_key("not a key").is_err());
    assert!(parse_public_key(&STANDARD.encode([1u8; 31])).is_err());
}
