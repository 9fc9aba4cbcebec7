// k6 load test of the ingest + decision round trip (SPEC §10): each iteration submits a pull
// request's changed lines, long-polls the analysis until a worker has decided it, and reads the
// decision. Thresholds fail the run when the service is too slow or drops work.
//
//   k6 run -e BASE_URL=https://provenance.example.com -e API_KEY=pvn_… deploy/k6/roundtrip.js
//
// Options (environment): BASE_URL (default http://127.0.0.1:8080), API_KEY (required), RATE
// (submissions per second, default 10), DURATION (default 2m), LINES (changed lines per
// submission, default 200). Submissions are tagged `metadata.loadtest`, and use fresh head shas
// so none is deduplicated. Use a key of the premium tier or above: the standard tier's limit
// (1 000 requests per minute) is below what a sustained RATE of 10 costs in polls.

import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const API_KEY = __ENV.API_KEY;
const RATE = parseInt(__ENV.RATE || '10', 10);
const DURATION = __ENV.DURATION || '2m';
const LINES = parseInt(__ENV.LINES || '200', 10);

// Submission accepted → decision readable, as a client sees it.
const roundTrip = new Trend('provenance_round_trip', true);
const decided = new Counter('provenance_decided');
const undecided = new Counter('provenance_undecided');

export const options = {
  scenarios: {
    roundtrip: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.max(10, RATE * 4),
      maxVUs: Math.max(50, RATE * 20),
    },
  },
  thresholds: {
    // Ingest: the 202 comes back fast (the work happens in the worker).
    'http_req_duration{name:submit}': ['p(95)<300', 'p(99)<1000'],
    // The whole round trip, queue and worker included.
    provenance_round_trip: ['p(95)<5000'],
    // Nothing refused, nothing lost, nothing left undecided.
    'checks{check:accepted}': ['rate>0.99'],
    'checks{check:decided}': ['rate>0.99'],
    provenance_undecided: ['count<1'],
    'http_req_failed{name:submit}': ['rate<0.01'],
  },
};

function headers() {
  return { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };
}

function hex(n) {
  let s = '';
  for (let i = 0; i < n; i += 1) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

function pullRequest() {
  const changed = [];
  for (let i = 1; i <= LINES; i += 1) {
    changed.push({
      file_path: `src/module_${i % 10}.py`,
      line_number: i,
      change_type: 'added',
      content: i % 50 === 0 ? `query = f"SELECT * FROM t WHERE id = {x${i}}"` : `value_${i} = compute(${i})`,
      language: 'python',
      attribution: { agent_id: i % 2 === 0 ? 'claude-code' : 'human' },
    });
  }
  return {
    repo: 'loadtest/service',
    pr_number: Math.floor(Math.random() * 100000) + 1,
    base_sha: hex(40),
    head_sha: hex(40),
    metadata: { loadtest: true },
    provenance_data: { changed_lines: changed },
  };
}

export function setup() {
  if (!API_KEY) fail('set API_KEY (-e API_KEY=pvn_…)');
  const ready = http.get(`${BASE_URL}/health/ready`);
  if (ready.status !== 200) fail(`${BASE_URL}/health/ready answered ${ready.status}`);
}

export default function () {
  const started = Date.now();
  const submitted = http.post(`${BASE_URL}/v1/analysis`, JSON.stringify(pullRequest()), {
    headers: headers(),
    tags: { name: 'submit' },
  });
  if (!check(submitted, { accepted: (r) => r.status === 202 })) return;
  const id = submitted.json('analysis_id');

  // The server holds each poll until the analysis settles (at most `wait` seconds).
  let status = 'queued';
  for (let i = 0; i < 6 && status !== 'completed' && status !== 'failed'; i += 1) {
    const polled = http.get(`${BASE_URL}/v1/analysis/${id}?wait=10`, {
      headers: headers(),
      tags: { name: 'poll' },
    });
    status = polled.status === 200 ? polled.json('status') : status;
  }
  const decision = http.get(`${BASE_URL}/v1/analysis/${id}/decision`, {
    headers: headers(),
    tags: { name: 'decision' },
  });
  const ok = check(decision, {
    decided: (r) => status === 'completed' && r.status === 200 && ['allow', 'warn', 'block'].includes(r.json('outcome')),
  });
  if (ok) {
    decided.add(1);
    roundTrip.add(Date.now() - started);
  } else {
    undecided.add(1);
  }
}
