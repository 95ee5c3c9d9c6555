//! Fuzz target: the config parser and validator (`proxyd::config::parse_str`),
//! the code path behind `proxyd --check`, startup, reload and
//! `proxyctl check-config`. Any input must give `Ok` or a list of
//! diagnostics, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Validation reads the certificate files a config names; a path into a
    // device or pseudo file system (`/dev/zero`, `/proc/kcore`) would make
    // the *fuzzer* read forever, which says nothing about the parser.
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    if let Err(e) = proxyd::config::parse_str(text, "fuzz.toml") {
        // Rendering the diagnostics is part of the path an operator sees.
        let _ = e.to_string();
    }
});
