-- wrk script of the web benchmarks (tests/benchmarks/web.py).
--
--   wrk ... -s bench.lua URL -- get <path> <threads>
--   wrk ... -s bench.lua URL -- post <file> <threads> <csrf secret>
--
-- get: every request is GET <path>. post: each line of <file> is "<path>\t<form body>",
-- and each line is sent once: thread i takes lines i, i + threads, ... and stops when it
-- has none left (reported as ran_out, so a benchmark can never reuse a token). The
-- CSRF secret goes in the csrftoken cookie; the bodies carry it as csrfmiddlewaretoken.
-- Each thread counts requests issued, answers accepted (2xx/3xx) and rejected; done()
-- prints one line "WRK_JSON {...}" with those, the latency percentiles and wrk's errors.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   mode = args[1]
   issued, accepted, rejected, ran_out = 0, 0, 0, 0
   if mode == "get" then
      get_request = wrk.format("GET", args[2])
      return
   end
   local stride = tonumber(args[3])
   local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "csrftoken=" .. args[4],
   }
   lines = {}
   local number = 0
   for line in io.lines(args[2]) do
      if number % stride == id then
         local tab = line:find("\t", 1, true)
         table.insert(lines, wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1)))
      end
      number = number + 1
   end
end

function request()
   if mode == "get" then
      issued = issued + 1
      return get_request
   end
   if issued >= #lines then
      ran_out = 1
      wrk.thread:stop()
      -- wrk still sends what this returns; a GET of the last path changes nothing.
      return wrk.format("GET", "/")
   end
   issued = issued + 1
   return lines[issued]
end

function response(status, headers, body)
   if ran_out == 1 then
      return
   end
   if status >= 200 and status < 400 then
      accepted = accepted + 1
   else
      rejected = rejected + 1
   end
end

function done(summary, latency, requests)
   local totals = {issued = 0, accepted = 0, rejected = 0, ran_out = 0}
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"issued": %d, "accepted": %d, "rejected": %d, "ran_out": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), totals.issued, totals.accepted, totals.rejected, totals.ran_out,
      errors.connect, errors.read, errors.write, errors.timeout))
end
