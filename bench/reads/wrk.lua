-- wrk script of bench/reads: the request from the environment, a JSON summary at the end.
--   BENCH_TOKEN    sent as `Authorization: Bearer <token>` (none when empty)
--   BENCH_METHOD   GET (default) or POST
--   BENCH_BODIES   request bodies, one per line, sent in turn (JSON, Content-Type set); without
--                  them every request is the same and wrk sends it without calling Lua
--   BENCH_STATUSES "1": count the answers by status (calls Lua on each answer: for slow
--                  requests only, such as logins)
-- The summary is one line on stdout: `BENCH_JSON {...}` (latencies in microseconds).

local token = os.getenv("BENCH_TOKEN") or ""
wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.headers["Accept"] = "application/json"
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local bodies = {}
for line in string.gmatch(os.getenv("BENCH_BODIES") or "", "[^\n]+") do
  table.insert(bodies, line)
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

if #bodies > 0 then
  wrk.headers["Content-Type"] = "application/json"
  function init(args)
    counter = id or 0       -- threads start at different bodies
  end
  function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
  end
end

if os.getenv("BENCH_STATUSES") == "1" then
  statuses = {}
  function response(status, headers, body)
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if type(s) == "table" then
      for k, v in pairs(s) do
        counts[k] = (counts[k] or 0) + v
      end
    end
  end
  local parts = {}
  for k, v in pairs(counts) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f,"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, table.concat(parts, ",")))
end
