//! Where start-up time goes: loading each engine's bundled pack and building each language's
//! prefilter. `cargo run --release -p provenance-detect --example startup`.

use std::time::Instant;

use provenance_detect::{PatternDetector, StructuralDetector};

fn main() {
    let t = Instant::now();
    let pattern = PatternDetector::bundled().expect("bundled pattern pack");
    println!("pattern pack loaded: {:?}", t.elapsed());
    let t = Instant::now();
    let structural = StructuralDetector::bundled().expect("bundled structural pack");
    println!("structural pack loaded: {:?} ({} rules)", t.elapsed(), structural.rules().len());
    for language in ["python", "javascript", "go", "java", "ruby", "rust", "shell", "github-actions", "none"] {
        let t = Instant::now();
        let n = pattern.prefilter_for(language);
        println!("prefilter {language}: {:?} ({n} rules)", t.elapsed());
    }
}
