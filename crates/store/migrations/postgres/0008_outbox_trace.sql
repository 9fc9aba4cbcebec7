-- The W3C `traceparent` of the span that wrote an outbox row (SPEC §8): the relay sends it as the
-- message's `traceparent` header and the embedded queue hands it to the consumer, so one trace
-- runs from the request through the queue to the worker. NULL when nothing was being traced.
ALTER TABLE outbox ADD COLUMN traceparent text;
