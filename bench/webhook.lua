-- wrk script for bench/serve-bench.sh: signed push deliveries, each with a
-- delivery id of its own (the signature covers the body only, as GitHub's
-- does), counting any answer that is not 202.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  body = f:read("*a")
  f:close()
  sig = os.getenv("BENCH_SIG")
  run = os.getenv("BENCH_RUN") or "r"
  n = 0
  bad = 0
end

function request()
  n = n + 1
  return wrk.format("POST", "/webhook", {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = string.format("bench-%s-%d-%d", run, tid, n),
    ["X-Hub-Signature-256"] = sig,
  }, body)
end

function response(status, headers, b)
  if status ~= 202 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
  end
  io.write(string.format("BENCH requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f not202=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, bad_total))
end
