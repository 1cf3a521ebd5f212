-- wrk script: POST one JSON request per call and print a JSON summary line at the end.
-- Usage: wrk -t1 -c32 -d15s -s post-request.lua URL -- 'BODY_TEMPLATE'
-- Every "{n}" in BODY_TEMPLATE becomes a per-thread sequence number prefixed with the thread's index, so every
-- request carries its own key. Status counts are kept per thread and added up in done().

local threads = {}
local template = '{"type":"order","key":"o-{n}","payload":{}}'

function setup(thread)
  thread:set("thread_index", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  if args[1] ~= nil then
    template = args[1]
  end
  sequence = 0
  accepted = 0
  rejected = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sequence = sequence + 1
  local key = thread_index .. "-" .. sequence
  local body = template:gsub("{n}", key)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 202 then
    accepted = accepted + 1
  else
    rejected = rejected + 1
  end
end

function done(summary, latency, requests)
  local total_accepted = 0
  local total_rejected = 0
  for _, thread in ipairs(threads) do
    total_accepted = total_accepted + thread:get("accepted")
    total_rejected = total_rejected + thread:get("rejected")
  end
  io.write(string.format(
    'WRK_SUMMARY {"requests": %d, "duration_us": %d, "accepted": %d, "rejected": %d, ' ..
    '"socket_errors": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration, total_accepted, total_rejected,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
