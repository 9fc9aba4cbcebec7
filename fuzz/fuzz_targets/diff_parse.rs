//! The unified diff parser on arbitrary input: it must never panic, and whatever it accepts must
//! render to text that parses back to the same files, with changed lines derivable from both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance_core::diff::{changed_lines, parse_unified_diff, render_unified_diff};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(files) = parse_unified_diff(&text) else { return };
    let lines = changed_lines(&files);
    let rendered = render_unified_diff(&files);
    let again = parse_unified_diff(&rendered).expect("a rendered diff parses");
    assert_eq!(again, files, "render then parse changes the files:\n{rendered}");
    assert_eq!(changed_lines(&again), lines);
});
