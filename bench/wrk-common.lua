-- Shared by every scenario's generated wrk script (bench/run.sh writes a tiny file that
-- sets wrk.method/body/headers and `count_statuses`, then loads this one).
--
-- done() writes the figures as key=value lines to $BENCH_OUT, latencies in microseconds.
-- Non-2xx: wrk itself counts responses with status >= 400 (summary.errors.status) at no
-- cost per request. With count_statuses = true a response() hook also tallies every
-- non-2xx status code (1xx/3xx included); it costs wrk CPU on every response (about a
-- third of wrk's throughput on /healthz), so turn it on only for slow scenarios.
--
-- A scenario may also define request() (run.sh's REQUEST_LUA setting) to build each
-- request itself; it sees `thread_id` (1, 2, ...) and $BENCH_RUN (unique per wrk run).
-- It may count things of its own in the global table `counters` (name -> number, e.g.
-- counters.settled = (counters.settled or 0) + 1 in its response()): done() sums each
-- over the threads and writes it as counter_<name>=N.

local threads = {}
counters = {}  -- global, per thread: done() reads it through thread:get("counters")

function setup(thread)
  table.insert(threads, thread)
  -- 1, 2, ...: a scenario's request() can use it to build keys unique across threads.
  thread:set("thread_id", #threads)
end

if count_statuses then
  counts = {}  -- global: done() reads it through thread:get("counts")
  function response(status, headers, body)
    if status < 200 or status > 299 then
      counts[status] = (counts[status] or 0) + 1
    end
  end
end

-- One table per thread, named `name`, summed key by key over every thread.
local function summed(name)
  local sums = {}
  for _, t in ipairs(threads) do
    local c = t:get(name)
    if c then
      for key, n in pairs(c) do sums[key] = (sums[key] or 0) + n end
    end
  end
  return sums
end

function done(summary, latency, requests)
  local path = os.getenv("BENCH_OUT")
  if not path then return end
  local f = assert(io.open(path, "w"))
  local e = summary.errors
  f:write(string.format("requests=%d\nduration_us=%d\nbytes=%d\n",
    summary.requests, summary.duration, summary.bytes))
  f:write(string.format("err_connect=%d\nerr_read=%d\nerr_write=%d\nerr_timeout=%d\nerr_status=%d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
  f:write(string.format("lat_p50=%d\nlat_p90=%d\nlat_p99=%d\nlat_p999=%d\nlat_max=%d\nlat_mean=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
  if count_statuses then
    local total, parts = 0, {}
    for code, n in pairs(summed("counts")) do
      total = total + n
      table.insert(parts, string.format("%d:%d", code, n))
    end
    table.sort(parts)
    f:write(string.format("non2xx=%d\nstatus_codes=%s\n", total, table.concat(parts, ",")))
  else
    f:write(string.format("non2xx=%d\nstatus_codes=\n", e.status))
  end
  for name, n in pairs(summed("counters")) do f:write(string.format("counter_%s=%d\n", name, n)) end
  f:close()
end
