-- Shared wrk hooks: optional auth header, one JSON line of results at the end.
-- Environment: BENCH_TOKEN (bearer), BENCH_METHOD, BENCH_BODY, BENCH_IF_NONE_MATCH,
-- BENCH_PATHS (newline-separated paths chosen round-robin), BENCH_IDEMPOTENT=1 (unique Idempotency-Key).
local token = os.getenv("BENCH_TOKEN")
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local inm = os.getenv("BENCH_IF_NONE_MATCH")
local idem = os.getenv("BENCH_IDEMPOTENT") == "1"
local paths = {}
for p in string.gmatch(os.getenv("BENCH_PATHS") or "/", "[^\n]+") do paths[#paths + 1] = p end
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  counter = math.random(1, #paths)
end

function request()
  counter = counter + 1
  local headers = {}
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if inm and inm ~= "" then headers["If-None-Match"] = inm end
  if body then headers["Content-Type"] = "application/json" end
  if idem then
    headers["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", os.time(), thread_id, counter, math.random(1, 1e9))
  end
  local path = paths[(counter % #paths) + 1]
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
