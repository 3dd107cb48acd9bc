-- wrk script for bench/serve.sh: GET /health, the server's floor, reported like webhooks.lua.

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d errors=%d statuses=non2xx:%d capped=false\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
