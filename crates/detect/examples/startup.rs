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
    for language in ["none", "python", "javascript", "go", "java", "ruby", "rust", "shell", "github-actions"] {
        let t = Instant::now();
        let n = pattern.prefilter_for(language);
        println!("prefilter {language}: {:?} ({n} rules)", t.elapsed());
    }
    if std::env::var_os("PER_RULE").is_some() {
        for rule in pattern.rules() {
            let spec = rule.spec();
            let t = Instant::now();
            let sources: Vec<&String> = spec.pattern.iter().chain(&spec.patterns).collect();
            let _ = regex::RegexSet::new(sources);
            println!("{:>10.3?} {}", t.elapsed(), spec.id);
        }
    }
}
