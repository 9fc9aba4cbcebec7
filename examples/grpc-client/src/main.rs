//! An internal client of Provenance's gRPC API, using the generated client of `provenance-proto`:
//! submit a unified diff, watch the analysis to its end, print the decision, and save the signed
//! bundle for `provenance verify`.
//!
//! ```text
//! cargo run -p provenance-grpc-client-example -- http://127.0.0.1:8080 "$PROVENANCE_API_KEY" change.diff
//! ```
//! Without a diff file it submits a small built-in one. Exits 0 on allow or warn, 2 on block.

use std::process::ExitCode;

use provenance_proto::v1::analysis_service_client::AnalysisServiceClient;
use provenance_proto::v1::{AnalysisStatus, GetAnalysisRequest, Outcome, SubmitRequest};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};

const SAMPLE_DIFF: &str = "\
diff --git a/app/db.py b/app/db.py
--- a/app/db.py
+++ b/app/db.py
@@ -1,2 +1,3 @@
 def find(db, name):
+    query = \"SELECT * FROM users WHERE name = '\" + name + \"'\"
     return db.execute(query)
";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(server), Some(key)) = (args.next(), args.next()) else {
        return Err("usage: provenance-grpc-client-example SERVER_URL API_KEY [DIFF_FILE]".into());
    };
    let diff = match args.next() {
        Some(path) => std::fs::read_to_string(path)?,
        None => SAMPLE_DIFF.to_string(),
    };

    // gRPC shares the REST port; every call carries the API key as `authorization` metadata.
    let channel = Channel::from_shared(server)?.connect().await?;
    let token: MetadataValue<_> = format!("Bearer {key}").parse()?;
    let mut client = AnalysisServiceClient::with_interceptor(channel, move |mut request: Request<()>| {
        request.metadata_mut().insert("authorization", token.clone());
        Ok::<_, Status>(request)
    });

    let accepted = client
        .submit(SubmitRequest {
            repo: Some("acme/shop".into()),
            pr_number: Some(42),
            base_sha: Some("1a2b3c4d".into()),
            head_sha: Some("5e6f7a8b".into()),
            diff: Some(diff),
            ..Default::default()
        })
        .await?
        .into_inner();
    let id = accepted.analysis_id;
    println!("submitted {id}{}", if accepted.deduplicated { " (an identical analysis existed)" } else { "" });

    // The stream sends the current state, then every change, and ends at completed or failed.
    let mut watch = client.watch_analysis(GetAnalysisRequest { analysis_id: id.clone() }).await?.into_inner();
    let mut last = None;
    while let Some(analysis) = watch.message().await? {
        println!("  {}", analysis.status().as_str_name());
        last = Some(analysis);
    }
    let analysis = last.ok_or("the watch ended without a status")?;
    if analysis.status() != AnalysisStatus::Completed {
        let error = analysis.error.map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default();
        return Err(format!("analysis {id} failed: {error}").into());
    }

    let decision = client.get_decision(GetAnalysisRequest { analysis_id: id.clone() }).await?.into_inner();
    println!("decision: {}", decision.outcome().as_str_name());
    for rule in &decision.fired_rules {
        println!("  {} ({}): {}", rule.rule, rule.outcome().as_str_name(), rule.reason);
    }
    let bundle = client.get_bundle(GetAnalysisRequest { analysis_id: id.clone() }).await?.into_inner();
    let path = format!("{id}.bundle.json");
    std::fs::write(&path, &bundle.envelope_json)?;
    println!("signed bundle: {path} (check it with `provenance verify {path} --keys-url SERVER_URL`)");

    Ok(if decision.outcome() == Outcome::Block { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
