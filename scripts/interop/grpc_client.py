"""A gRPC client that knows nothing of Provenance but its address and an API key.

It learns the services and message types from the server's reflection service (no generated
code, no .proto files), then:
  1. lists the services by reflection and expects Provenance's, health and reflection;
  2. checks grpc.health.v1 for the server and each Provenance service;
  3. submits an analysis (AnalysisService.Submit) and watches it to completion
     (AnalysisService.WatchAnalysis, a server stream), expecting QUEUED ... COMPLETED;
  4. reads the decision over gRPC and over REST and expects the same outcome and rules;
  5. sends an invalid submission and expects INVALID_ARGUMENT with google.rpc.BadRequest field
     violations naming the missing field, and a call without a key UNAUTHENTICATED.

Usage: grpc_client.py ADDRESS API_KEY REST_BASE_URL   (ADDRESS as host:port)
Exits 1 naming every failed check.
"""

import json
import sys
import urllib.request

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpc_status import rpc_status

failures = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def main(address, api_key, rest):
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=10)
    auth = (("authorization", f"Bearer {api_key}"),)

    print("== services by reflection")
    reflection = ProtoReflectionDescriptorDatabase(channel)
    services = set(reflection.get_services())
    print("  " + ", ".join(sorted(services)))
    for expected in ("provenance.v1.AnalysisService", "provenance.v1.WebhookService", "provenance.v1.DetectorService",
                     "grpc.health.v1.Health"):
        check(expected in services, f"reflection lists {expected}")
    pool = descriptor_pool.DescriptorPool(reflection)

    def message(name, **fields):
        cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"provenance.v1.{name}"))
        return json_format.ParseDict(fields, cls())

    def rpc(service, method, streaming=False):
        svc = pool.FindServiceByName(f"provenance.v1.{service}")
        m = svc.methods_by_name[method]
        out = message_factory.GetMessageClass(m.output_type)
        make = channel.unary_stream if streaming else channel.unary_unary
        return make(f"/provenance.v1.{service}/{method}", request_serializer=lambda r: r.SerializeToString(),
                    response_deserializer=out.FromString)

    print("== grpc.health.v1")
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "provenance.v1.AnalysisService", "provenance.v1.WebhookService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        check(status == health_pb2.HealthCheckResponse.SERVING, f"health of {service or 'the server'!r} is SERVING")

    print("== submit and watch")
    change = dict(
        repo="acme/shop", pr_number=77, base_sha="1a2b3c4d", head_sha="5e6f7a8b9c0d",
        provenance_data={"changed_lines": [{
            "file_path": "app/db.py", "line_number": 30, "change_type": "added", "language": "python",
            "content": "    query = \"SELECT * FROM users WHERE name = '\" + name + \"'\"",
            "attribution": {"agent_id": "claude-code"}}]},
        metadata={"client": "python-grpcio"})
    accepted = rpc("AnalysisService", "Submit")(message("SubmitRequest", **change), metadata=auth, timeout=10)
    analysis_id = accepted.analysis_id
    check(analysis_id.startswith("an_"), f"Submit accepted {analysis_id}")
    watch = rpc("AnalysisService", "WatchAnalysis", streaming=True)
    seen = [pool.FindEnumTypeByName("provenance.v1.AnalysisStatus").values_by_number[a.status].name
            for a in watch(message("GetAnalysisRequest", analysis_id=analysis_id), metadata=auth, timeout=60)]
    print("  statuses: " + " -> ".join(seen))
    check(seen[:1] in (["ANALYSIS_STATUS_QUEUED"], ["ANALYSIS_STATUS_RUNNING"], ["ANALYSIS_STATUS_COMPLETED"]),
          "the watch starts with the current status")
    check(seen[-1:] == ["ANALYSIS_STATUS_COMPLETED"], "the watch ends when the analysis is completed")

    print("== the decision, over gRPC and over REST")
    decision = rpc("AnalysisService", "GetDecision")(message("GetAnalysisRequest", analysis_id=analysis_id),
                                                     metadata=auth, timeout=10)
    outcome = pool.FindEnumTypeByName("provenance.v1.Outcome").values_by_number[decision.outcome].name
    request = urllib.request.Request(f"{rest}/v1/analysis/{analysis_id}/decision",
                                     headers={"Authorization": f"Bearer {api_key}"})
    rest_decision = json.load(urllib.request.urlopen(request, timeout=10))
    check(outcome == "OUTCOME_" + rest_decision["outcome"].upper(), f"outcome {outcome} = REST {rest_decision['outcome']}")
    check([r.rule for r in decision.fired_rules] == [r["rule"] for r in rest_decision["fired_rules"]],
          f"fired rules {[r.rule for r in decision.fired_rules]} as over REST")
    check(decision.id == rest_decision["id"], "the same decision id")

    print("== errors")
    bad = dict(change)
    del bad["head_sha"]
    try:
        rpc("AnalysisService", "Submit")(message("SubmitRequest", **bad), metadata=auth, timeout=10)
        check(False, "an invalid submission is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"an invalid submission is {e.code().name}")
        fields = []
        status = rpc_status.from_call(e)
        for detail in status.details if status else []:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                fields += [v.field for v in bad_request.field_violations]
        check("/head_sha" in fields, f"BadRequest names /head_sha ({fields})")
    try:
        rpc("AnalysisService", "Get")(message("GetAnalysisRequest", analysis_id=analysis_id), timeout=10)
        check(False, "a call without a key is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNAUTHENTICATED, f"a call without a key is {e.code().name}")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except Exception as e:  # an unexpected failure is a failed check, with its cause
        check(False, f"unexpected {type(e).__name__}: {e}")
    if failures:
        print(f"grpc client: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
