-- wrk script: realistic Ringba pixels, a unique ringba_call_uuid and a varied caller each.
-- Arguments: lead_token traffic_source_id uuid_prefix path
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  token, source, prefix, path = args[1], args[2], args[3], args[4]
  sent = 0
end

function request()
  sent = sent + 1
  local uuid = string.format("%s-%d-%d", prefix, thread_id, sent)
  local caller = string.format("+1312%07d", (thread_id * 1000003 + sent * 7919) % 10000000)
  local body = string.format(
    '{"lead_token":"%s","traffic_source_id":"%s","caller_id":"%s","ringba_call_uuid":"%s",' ..
    '"first_name":"Bench","last_name":"Caller %d","jornaya_leadid":"J-%s",' ..
    '"trusted_form_cert_url":"https://cert.trustedform.com/%s"}',
    token, source, caller, uuid, sent, uuid, uuid)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
