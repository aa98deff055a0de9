-- GET /api/v1/orders/{number}/returnable-lines for random seeded orders.
-- Env: BENCH_WORK (the seeder's --out directory), BENCH_CHECK=1 to print unexpected answers.
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")

local threads = {}
local orders
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  orders = common.read_lines(common.env("BENCH_WORK") .. "/orders.txt")
  common.set_headers(false)
  math.randomseed(os.time() + id * 7919)
end

function request()
  counter = counter + 1
  local number = orders[math.random(#orders)]
  return wrk.format("GET", "/api/v1/orders/" .. number .. "/returnable-lines")
end

if os.getenv("BENCH_CHECK") == "1" then
  non_2xx, shown = 0, 0
  function response(status, headers, body)
    if status < 200 or status > 299 then
      non_2xx = non_2xx + 1
      if shown < 3 then
        shown = shown + 1
        io.stderr:write("returnable-lines: HTTP " .. status .. " " .. body:sub(1, 300) .. "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local non_2xx = 0
  for _, t in ipairs(threads) do non_2xx = non_2xx + (t:get("non_2xx") or 0) end
  common.report("returnable_lines", summary, latency, {
    non_2xx_counted = os.getenv("BENCH_CHECK") == "1" and tostring(non_2xx) or "null",
  })
end
