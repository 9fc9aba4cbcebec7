//! W3C Trace Context (SPEC §8): the `traceparent` and `tracestate` headers that carry one trace
//! from a request through the outbox and the queue to the worker and the webhooks it sends.
//!
//! These helpers read and set the OpenTelemetry context of `tracing` spans. Spans have one only
//! under the subscriber of [`crate::telemetry`]; elsewhere (a test without it) every helper
//! answers `None` or `false`, and nothing is propagated.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// An [`opentelemetry::propagation::Injector`] and [`Extractor`] over an [`http::HeaderMap`]:
/// for outgoing requests (webhooks, gRPC metadata) and incoming ones.
pub use opentelemetry_http::{HeaderExtractor, HeaderInjector};

/// The W3C header naming the trace and the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header of vendor-specific trace state, passed along unchanged.
pub const TRACESTATE: &str = "tracestate";

/// The `traceparent` of the current span: what to store with a message written now.
pub fn current_traceparent() -> Option<String> {
    traceparent(&Span::current())
}

/// The `traceparent` naming `span` as the parent, if it is traced.
pub fn traceparent(span: &Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The trace id of `span` (32 hex digits), if it is traced: what logs carry to join their trace.
pub fn trace_id(span: &Span) -> Option<String> {
    let cx = span.context();
    let span_context = cx.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

/// Record the trace id of `span` in its `trace_id` field (declared `tracing::field::Empty`), so
/// the log lines within it lead to its trace. Call it after any [`set_parent_from`].
pub fn record_trace_id(span: &Span) {
    if let Some(trace_id) = trace_id(span) {
        span.record("trace_id", trace_id);
    }
}

/// Make `span` continue the trace `traceparent` names, as a child of that remote span. Call it
/// before the span is first entered. `false`, and `span` starts a trace of its own, when the
/// header is not a valid `traceparent` or the span cannot take a parent any more.
pub fn set_parent_from(span: &Span, traceparent: &str) -> bool {
    set_parent(span, &HashMap::from([(TRACEPARENT.to_string(), traceparent.to_string())]))
}

/// [`set_parent_from`] with the `traceparent` and `tracestate` of request headers (HTTP or gRPC
/// metadata).
pub fn set_parent_from_headers(span: &Span, headers: &http::HeaderMap) -> bool {
    set_parent(span, &HeaderExtractor(headers))
}

fn set_parent(span: &Span, carrier: &dyn Extractor) -> bool {
    if !carrier.get(TRACEPARENT).is_some_and(well_formed) {
        return false;
    }
    // Extracted into an empty context, so an invalid header yields no parent rather than
    // whatever context is current.
    let cx = TraceContextPropagator::new().extract_with_context(&opentelemetry::Context::new(), carrier);
    cx.span().span_context().is_valid() && span.set_parent(cx).is_ok()
}

/// The field widths of the W3C format (`version-traceid-parentid-flags`, 2-32-16-2 lowercase hex
/// digits), which the propagator's parser does not check: it reads a short id as a number.
fn well_formed(traceparent: &str) -> bool {
    let mut widths = [2, 32, 16, 2].into_iter();
    let fields_fit = traceparent.trim().split('-').take(4).all(|field| {
        widths.next() == Some(field.len()) && field.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    fields_fit && widths.next().is_none()
}

/// Put the `traceparent` (and `tracestate`) of `span` on outgoing request headers; nothing when
/// the span is not traced.
pub fn inject_headers(span: &Span, headers: &mut http::HeaderMap) {
    TraceContextPropagator::new().inject_context(&span.context(), &mut HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::telemetry::Telemetry;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// Run `f` under a subscriber whose spans have OpenTelemetry contexts (no exporter).
    fn traced<T>(f: impl FnOnce() -> T) -> T {
        let telemetry = Telemetry::new("provenance-test", None).unwrap();
        let subscriber = tracing_subscriber::registry().with(telemetry.layer());
        tracing::subscriber::with_default(subscriber, f)
    }

    fn parts(traceparent: &str) -> Vec<String> {
        traceparent.split('-').map(str::to_string).collect()
    }

    #[test]
    fn a_span_continues_the_trace_of_a_valid_traceparent_as_its_child() {
        traced(|| {
            let span = tracing::info_span!("request");
            assert!(set_parent_from(&span, PARENT));
            let own = traceparent(&span).unwrap();
            let [version, trace, span_id, flags] = &parts(&own)[..] else { panic!("{own}") };
            assert_eq!((version.as_str(), trace.as_str(), flags.as_str()), ("00", TRACE, "01"));
            assert_ne!(span_id, "00f067aa0ba902b7", "the span is a child, not the remote span itself");
            assert_eq!(trace_id(&span).as_deref(), Some(TRACE));
        });
    }

    #[test]
    fn the_current_traceparent_names_the_entered_span_and_its_children_share_the_trace() {
        traced(|| {
            let span = tracing::info_span!("job");
            set_parent_from(&span, PARENT);
            let _entered = span.enter();
            assert_eq!(current_traceparent(), traceparent(&span));
            let child = tracing::info_span!("step");
            assert_eq!(trace_id(&child).as_deref(), Some(TRACE));
            assert_ne!(traceparent(&child), traceparent(&span));
        });
    }

    #[test]
    fn an_unsampled_parent_stays_unsampled() {
        traced(|| {
            let span = tracing::info_span!("request");
            assert!(set_parent_from(&span, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
            assert!(traceparent(&span).unwrap().ends_with("-00"));
        });
    }

    #[test]
    fn invalid_traceparents_are_ignored_and_the_span_starts_its_own_trace() {
        traced(|| {
            for bad in [
                "",
                "garbage",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            ] {
                let span = tracing::info_span!("request");
                assert!(!set_parent_from(&span, bad), "{bad:?} accepted");
                let own = trace_id(&span).expect("a span of its own trace");
                assert_ne!(own, TRACE);
                assert_eq!(own.len(), 32);
            }
        });
    }

    #[test]
    fn headers_carry_traceparent_and_tracestate_both_ways() {
        traced(|| {
            let mut incoming = http::HeaderMap::new();
            incoming.insert(TRACEPARENT, PARENT.parse().unwrap());
            incoming.insert(TRACESTATE, "vendor=value".parse().unwrap());
            let span = tracing::info_span!("request");
            assert!(set_parent_from_headers(&span, &incoming));

            let mut outgoing = http::HeaderMap::new();
            inject_headers(&span, &mut outgoing);
            let sent = outgoing.get(TRACEPARENT).unwrap().to_str().unwrap();
            assert_eq!(Some(sent), traceparent(&span).as_deref());
            assert_eq!(outgoing.get(TRACESTATE).unwrap(), "vendor=value");
        });
    }

    #[test]
    fn without_the_telemetry_layer_nothing_is_traced_or_propagated() {
        let span = tracing::info_span!("request");
        assert!(!set_parent_from(&span, PARENT));
        assert_eq!(traceparent(&span), None);
        assert_eq!(trace_id(&span), None);
        let mut headers = http::HeaderMap::new();
        inject_headers(&span, &mut headers);
        assert!(headers.is_empty());
    }
}
