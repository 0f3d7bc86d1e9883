-- Shared wrk hooks: per-request targets, optional per-request bodies, one JSON line of results at the end.
-- Environment:
--   BENCH_TARGETS: a file of tab-separated lines `path  token  if-none-match  arg…`, taken round-robin
--     from a random start per thread (token and if-none-match may be empty);
--   BENCH_METHOD (GET), BENCH_IDEMPOTENT=1 (unique Idempotency-Key per request);
--   BENCH_GEN: body made per request: `issue` (args: grid id, min lng, min lat, max lng, max lat; a
--     random point in the grid's box; BENCH_WITH_AREA=1 also names the grid), `diary` (BENCH_BATCH
--     entries with fresh ids) or `redeem` (args: volunteer id, item id; one of the item);
--   BENCH_STATUSES=1: count the responses per status code (reported as "statuses");
--   BENCH_FORWARDED=1: each request as from one of 65,536 addresses (X-Forwarded-For, which the
--     service trusts from loopback as from its reverse proxy): the readers of a public page.
local method = os.getenv("BENCH_METHOD") or "GET"
local idem = os.getenv("BENCH_IDEMPOTENT") == "1"
local gen = os.getenv("BENCH_GEN") or ""
local with_area = os.getenv("BENCH_WITH_AREA") == "1"
local batch = tonumber(os.getenv("BENCH_BATCH") or "500")
local count_statuses = os.getenv("BENCH_STATUSES") == "1"
local forwarded = os.getenv("BENCH_FORWARDED") == "1"
local targets = {}
for line in io.lines(os.getenv("BENCH_TARGETS")) do
  local f = {}
  for field in string.gmatch(line .. "\t", "([^\t]*)\t") do f[#f + 1] = field end
  targets[#targets + 1] = f
end
local counter = 0
-- A global, not a local: setup() gives each thread its own number through thread:set, which sets
-- a global of that thread (a local here would stay 0, so every thread would draw the same random
-- sequence: the same Idempotency-Keys and bodies, and the same diary ids).
thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id * 7919)
  counter = math.random(1, #targets)
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffff), math.random(0, 0xffffffff))
end

local KINDS = { "complaint", "help", "consultation", "report" }
local CATEGORIES = { "property", "environment", "lighting", "sewage", "public_order", "elderly_care" }

local function issue_body(f)
  local x0, y0, x1, y1 = tonumber(f[5]), tonumber(f[6]), tonumber(f[7]), tonumber(f[8])
  local lng = x0 + (x1 - x0) * (0.05 + 0.9 * math.random())
  local lat = y0 + (y1 - y0) * (0.05 + 0.9 * math.random())
  local area = with_area and string.format('"area_id":"%s",', f[4]) or ""
  return string.format(
    '{%s"title":"路灯不亮 %d","description":"3号楼前路灯连续三晚不亮，居民夜间出行不便。","kind":"%s",' ..
    '"category":"%s","channel":"patrol","priority":"normal","location":{"lat":%.6f,"lng":%.6f},' ..
    '"address":"%d号楼","reporter":{"name":"王先生","phone":"13800138000"}}',
    area, math.random(1, 1e6), KINDS[math.random(#KINDS)], CATEGORIES[math.random(#CATEGORIES)], lat, lng,
    math.random(1, 40))
end

local function diary_body()
  local items = {}
  local day = os.date("!%Y-%m-%d")
  for i = 1, batch do
    items[i] = string.format(
      '{"id":"%s","visited_at":"%sT%02d:%02d:00+08:00","kind":"situation",' ..
      '"content":"走访%d号楼，了解独居老人近况，反映楼道灯不亮。","measures":"已联系物业","tags":["elderly_alone"],' ..
      '"status":"open"}', uuid4(), day, math.random(0, 7), math.random(0, 59), math.random(1, 40))
  end
  return "[" .. table.concat(items, ",") .. "]"
end

function request()
  counter = counter + 1
  local f = targets[(counter % #targets) + 1]
  local headers = {}
  if f[2] and f[2] ~= "" then headers["Authorization"] = "Bearer " .. f[2] end
  if f[3] and f[3] ~= "" then headers["If-None-Match"] = f[3] end
  if forwarded then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", thread_id, math.random(0, 255), math.random(1, 254))
  end
  if idem then
    headers["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", os.time(), thread_id, counter,
      math.random(1, 1e9))
  end
  local body = nil
  if gen == "issue" then
    body = issue_body(f)
  elseif gen == "diary" then
    body = diary_body()
  elseif gen == "redeem" then
    body = string.format('{"volunteer_id":"%s","item_id":"%s","quantity":1}', f[4], f[5])
  end
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, f[1], headers, body)
end

-- Defined only when asked for: wrk reads every response through Lua once `response` exists.
statuses = {}
if count_statuses then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do parts[#parts + 1] = string.format('"%d": %d', status, n) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "statuses": {%s}}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, table.concat(parts, ", ")))
end
