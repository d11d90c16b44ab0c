-- wrk script: POST valid STK Pushes, each to a different PhoneNumber (one open prompt per
-- handset). Usage (see run_wrk.py, which fetches the token and computes the Password):
--   wrk -t4 -c256 -d30s --latency -s stk_push.lua http://127.0.0.1:8089 -- TOKEN TIMESTAMP PASSWORD CALLBACK_URL
local counter = 0
thread_number = 0  -- set per thread by setup()
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  token, timestamp, password, callback_url = args[1], args[2], args[3], args[4]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  -- 2547 + 8 digits: thread number, then a per-thread counter (unique for 10^7 requests)
  local phone = string.format("2547%01d%07d", thread_number % 10, counter % 10000000)
  local body = string.format(
    '{"BusinessShortCode":"174379","Password":"%s","Timestamp":"%s",' ..
    '"TransactionType":"CustomerPayBillOnline","Amount":1,"PartyA":"%s","PartyB":"174379",' ..
    '"PhoneNumber":"%s","CallBackURL":"%s","AccountReference":"bench","TransactionDesc":"bench"}',
    password, timestamp, phone, phone, callback_url)
  return wrk.format(nil, "/mpesa/stkpush/v1/processrequest", nil, body)
end

function done(summary, latency, requests)
  local s = summary
  io.write(string.format("requests %d, errors: connect %d read %d write %d status %d timeout %d\n",
    s.requests, s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s %.1f ms\n", p, latency:percentile(p) / 1000))
  end
end
