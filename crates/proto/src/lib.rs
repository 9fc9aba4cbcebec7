//! Provenance's protobuf contract, generated from `proto/provenance/v1` at build time.

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/provenance.v1.rs"));
}

pub use prost::Message;
