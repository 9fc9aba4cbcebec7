//! Generates the Rust types, gRPC clients and servers from `proto/` with a vendored `protoc`, so
//! no system install is needed (`PROTOC` overrides it, e.g. on musl hosts, where the vendored
//! glibc binary cannot run). The file descriptor set is kept for gRPC server reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=PROTOC");
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => std::path::PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let well_known = protoc_bin_vendored::include_path()?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files =
        ["common", "analysis", "detector", "webhooks", "queue"].map(|f| root.join(format!("provenance/v1/{f}.proto")));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("provenance_descriptor.bin"))
        .compile_with_config(config, &files, &[root, well_known])?;
    Ok(())
}
