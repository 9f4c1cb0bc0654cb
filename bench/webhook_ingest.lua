-- wrk script of bench/webhook_ingest.py: send each pre-signed webhook of a file exactly once.
--
-- wrk -t2 -c16 -d120s -s bench/webhook_ingest.lua URL -- REQUESTS_FILE THREADS DONE_DIR
--
-- REQUESTS_FILE holds one request a line: webhook-id TAB webhook-timestamp TAB
-- webhook-signature TAB JSON body. Thread k of THREADS takes lines k, k+THREADS, ... and sends
-- each once; a connection with nothing left to send stays idle. A thread stops when every one
-- of its requests was answered; it then writes DONE_DIR/<k>, and the thread that finds all
-- THREADS files there interrupts wrk's main thread (SIGINT), which otherwise sleeps out -d.
-- Idle connections may be closed by the server's keep-alive timeout (wrk counts a read error
-- and reconnects); a request in flight is never lost unnoticed: its thread would not finish.
-- done() prints one line, "RESULT {json}", that the Python side reads.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
  int getpid(void);
  int kill(int pid, int sig);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2
local timespec = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads, created = {}, 0

function setup(thread)
  thread:set("index", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  local path, count = args[1], tonumber(args[2])
  done_dir = args[3]
  requests, sent, answered = {}, 0, 0
  ok, accepted, other, first, last = 0, 0, 0, 0, 0
  local line_no = 0
  for line in io.lines(path) do
    if line_no % count == index then
      local id, stamp, signature, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
      requests[#requests + 1] = wrk.format("POST", "/webhooks/sidecar", {
        ["webhook-id"] = id, ["webhook-timestamp"] = stamp,
        ["webhook-signature"] = signature, ["content-type"] = "application/json",
      }, body)
    end
    line_no = line_no + 1
  end
  total = #requests
  expected_threads = count
end

function request()
  if index == 0 and not verified then
    -- wrk 4 calls thread 0's request() once before the run, to check that it returns a
    -- well-formed request: answer that call without using up a request
    verified = true
    return requests[1]
  end
  if sent >= total then
    return ""  -- nothing left: this connection waits, idle, until the thread stops
  end
  sent = sent + 1
  if sent == 1 then first = now() end
  return requests[sent]
end

local function all_done()
  for k = 0, expected_threads - 1 do
    local f = io.open(done_dir .. "/" .. k, "r")
    if f == nil then return false end
    f:close()
  end
  return true
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 200 and status < 300 then
    ok = ok + 1
    if body:find('"status":"accepted"', 1, true) then accepted = accepted + 1 end
  else
    other = other + 1
  end
  if answered == total then
    last = now()
    local f = io.open(done_dir .. "/" .. index, "w")
    f:write(string.format("%d %d %d %d %.6f %.6f\n", answered, ok, accepted, other, first, last))
    f:close()
    wrk.thread:stop()
    if all_done() then ffi.C.kill(ffi.C.getpid(), SIGINT) end
  end
end

function done(summary, latency, requests)
  local ms = function(us) return us / 1000.0 end
  io.write(string.format(
    'RESULT {"requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"p999_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, ms(latency:percentile(50)),
    ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency:percentile(99.9)),
    ms(latency.max), ms(latency.mean)))
end
