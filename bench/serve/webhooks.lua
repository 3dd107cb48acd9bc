-- wrk script for bench/serve.sh: POSTs pre-signed GitHub deliveries, each thread taking every
-- THREADS-th line of the deliveries file, and records the delivery id of every 202 answer.
-- Usage: wrk ... -s webhooks.lua URL -- DELIVERIES_FILE THREADS ACCEPTED_OUT

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads = args[1], tonumber(args[2])
   requests, accepted, statuses, capped, next_index = {}, {}, {}, false, 0
   local line_no = 0
   for line in io.lines(file) do
      if line_no % nthreads == id then
         local delivery, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
         local headers = {
            ["Content-Type"] = "application/json",
            ["X-GitHub-Event"] = "pull_request",
            ["X-GitHub-Delivery"] = delivery,
            ["X-Hub-Signature-256"] = signature,
         }
         requests[#requests + 1] = wrk.format("POST", wrk.path, headers, body)
      end
      line_no = line_no + 1
   end
end

function request()
   next_index = next_index + 1
   if next_index > #requests then
      -- Out of prepared deliveries: the run is capped by count, not time.
      capped = true
      wrk.thread:stop()
      return requests[#requests]
   end
   return requests[next_index]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   -- A 202 `duplicate` (a redelivery the gateway recognised) made no envelope: not counted.
   if status == 202 and body:find('"status":"accepted"', 1, true) then
      accepted[#accepted + 1] = body:match('"deliveryId":"([^"]*)"') or "?"
   end
end

function done(summary, latency, requests)
   local out = assert(io.open(os.getenv("BENCH_ACCEPTED_OUT"), "w"))
   local counts, any_capped = {}, false
   for _, thread in ipairs(threads) do
      for _, delivery in ipairs(thread:get("accepted")) do
         out:write(delivery, "\n")
      end
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      any_capped = any_capped or thread:get("capped")
   end
   out:close()
   local statuses = {}
   for status, n in pairs(counts) do
      statuses[#statuses + 1] = status .. ":" .. n
   end
   local errors = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d errors=%d statuses=%s capped=%s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect + errors.read + errors.write + errors.timeout, table.concat(statuses, ","),
      tostring(any_capped)))
end
