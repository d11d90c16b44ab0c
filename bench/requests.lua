-- wrk script: replay prepared requests, each at most once, and report as one JSON line.
--
-- The requests file (BENCH_REQUESTS) has one request per line, tab-separated:
--   METHOD <tab> PATH <tab> IDEMPOTENCY-KEY or - <tab> BODY (one line, may be empty)
-- Thread k of n takes lines k, k+n, k+2n, ... and stops once each of its lines is answered,
-- so a run is bounded in requests (the file) as well as in seconds (wrk -d).
-- Headers common to every request (Authorization, Content-Type) come from wrk -H.
-- wrk's own duration is always the whole -d, so the rate is timed here: from a thread's
-- first request to its last answer (gettimeofday through LuaJIT's ffi).

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local now_tv = ffi.new("bench_timeval")
local function now_us()
  ffi.C.gettimeofday(now_tv, nil)
  return tonumber(now_tv.tv_sec) * 1000000 + tonumber(now_tv.tv_usec)
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local total = tonumber(os.getenv("BENCH_THREADS"))
  local lines, n = {}, 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % total == id then
      local method, path, key, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      for name, value in pairs(wrk.headers) do headers[name] = value end
      if key ~= "-" then headers["Idempotency-Key"] = key end
      table.insert(lines, wrk.format(method, path, headers, body ~= "" and body or nil))
    end
    n = n + 1
  end
  prepared, count, sent, answered, codes, first, last = lines, #lines, 0, 0, {}, 0, 0
end

function request()
  if sent == 0 then first = now_us() end
  sent = sent + 1
  -- Past the end (connections still open as the last answers arrive): repeat the last one.
  return prepared[math.min(sent, #prepared)]
end

function response(status, headers, body)
  answered = answered + 1
  last = now_us()
  codes[status] = (codes[status] or 0) + 1
  if answered >= count then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local counts, started, ended, total, exhausted = {}, nil, 0, 0, 0
  for _, thread in ipairs(threads) do
    local t_first, t_last = thread:get("first"), thread:get("last")
    if t_first > 0 and (started == nil or t_first < started) then started = t_first end
    if t_last > ended then ended = t_last end
    total = total + thread:get("answered")
    if thread:get("answered") >= thread:get("count") then exhausted = exhausted + 1 end
    for status, count in pairs(thread:get("codes")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "exhausted": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"codes": {%s}}\n',
    total, ended - (started or ended), exhausted, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout,
    table.concat(parts, ", ")))
end
